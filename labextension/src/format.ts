/**
 * How numbers, durations, times and run ids read, the same in every table and chart: one
 * number format (4 significant digits, no trailing zeros: 1 and 0.9861, never 1.000 beside
 * 0.9861), durations in the unit a person would say, times in the user's locale.
 */

const SIGNIFICANT = 4;
const plain = new Intl.NumberFormat('en-US', {
  maximumSignificantDigits: SIGNIFICANT,
  useGrouping: false
});

/** A metric or parameter value: `0.9861`, `1`, `12350`, `2.5e-5`; '' when there is none. */
export function numberText(value: unknown): string {
  if (value === null || value === undefined || value === '') {
    return '';
  }
  if (typeof value !== 'number') {
    return String(value);
  }
  if (!Number.isFinite(value)) {
    return String(value);
  }
  const size = Math.abs(value);
  if (size !== 0 && (size < 1e-3 || size >= 1e9)) {
    // e.g. 2.5e-5: the digits that matter, not a row of zeros
    return value
      .toExponential(SIGNIFICANT - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  }
  return plain.format(value);
}

/** A value read from a table (a parameter is text in MLflow): a number when it is one. */
export function valueText(value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return numberText(Number(value));
  }
  return numberText(value);
}

/** `0.4 s`, `12 s`, `2.5 min`, `1.2 h`; '' when unknown. */
export function durationText(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  if (seconds < 3600) {
    return `${(seconds / 60).toFixed(1)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A time the server sent (seconds since the epoch), as a Date; null when there is none. */
export function toDate(seconds: number | string | null | undefined): Date | null {
  if (seconds === null || seconds === undefined || seconds === '') {
    return null;
  }
  const n = typeof seconds === 'number' ? seconds : Number(seconds);
  const date = Number.isFinite(n) ? new Date(n * 1000) : new Date(String(seconds));
  return isNaN(date.getTime()) ? null : date;
}

/** The full local date and time. */
export function timeText(seconds: number | string | null | undefined): string {
  const date = toDate(seconds);
  return date ? date.toLocaleString() : '';
}

/** "15:04:05" for a time today (`now`'s day), "11-21 15:04" before. */
export function shortTime(
  seconds: number | string | null | undefined,
  now: Date = new Date()
): string {
  const date = toDate(seconds);
  if (!date) {
    return '';
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === now.toDateString()) {
    return `${time}:${pad(date.getSeconds())}`;
  }
  return `${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** What a run is called: its name, else its id. */
export function runLabel(run: { name?: string | null; run_id: string }): string {
  return run.name && run.name.trim() ? run.name : run.run_id;
}

/**
 * The short form of a run id shown beside a name: the last 6 characters of an nb2pipe id
 * (`20261206-234512-de8128` → `de8128`, its random part), the first 8 of an MLflow id.
 */
export function shortId(id: string): string {
  if (/^\d{8}-\d{6}-/.test(id)) {
    return id.slice(id.lastIndexOf('-') + 1);
  }
  return id.slice(0, 8);
}
