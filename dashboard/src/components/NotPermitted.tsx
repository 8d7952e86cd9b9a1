export function NotPermitted({ page, role }: { page: string; role: string }) {
  return (
    <section className="card plain-page">
      <h1>{page}</h1>
      <p>This page is not permitted for your role ({role}).</p>
    </section>
  );
}
