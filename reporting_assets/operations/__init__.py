"""Keeping the platform fresh and accountable: schedules, sensors, run status, audit and retention."""
