import { useState } from 'react';
import { downloadCsv, type QueryParams } from '../lib/api';

interface DownloadCsvButtonProps {
  /** API path of the report; ".csv" is added. */
  path: string;
  params?: QueryParams;
  /** What the file holds, for screen readers: "Download CSV of <label>". */
  label: string;
}

/** Saves the report's CSV twin; the download goes through the API, so it is audited as an export. */
export function DownloadCsvButton({ path, params, label }: DownloadCsvButtonProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      await downloadCsv(path, params);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="csv">
      <button type="button" className="button-secondary" onClick={download} disabled={busy} aria-label={`Download CSV of ${label}`}>
        {busy ? 'Downloading…' : 'Download CSV'}
      </button>
      {error && (
        <span className="state-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
