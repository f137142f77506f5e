/**
 * Dates in the forms the contracts show: YYYYMMDD integers (0 and 99999999 = unknown), `1985/03/07`,
 * `1985-3-7`, `1985年3月7日`, Debezium days since the epoch and microsecond timestamps. Impossible calendar
 * dates are unknown (null), never guessed.
 */
function iso(y: number, m: number, d: number): string | null {
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d || y < 1800 || y > 2200)
    return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

export function fromYyyymmddInt(n: number | string | null | undefined): string | null {
  if (n === null || n === undefined) return null;
  const s = String(n).trim();
  if (!/^\d{8}$/.test(s) || s === '99999999') return null;
  return iso(Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8)));
}

export function parseLooseDate(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const s = raw.normalize('NFKC').trim();
  if (s === '') return null;
  if (/^\d{8}$/.test(s)) return fromYyyymmddInt(s);
  const m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s].*)?$/.exec(s);
  return m ? iso(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** io.debezium.time.Date: days since 1970-01-01. */
export function fromDebeziumDays(days: number | null | undefined): string | null {
  if (days === null || days === undefined || !Number.isInteger(days)) return null;
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** io.debezium.time.MicroTimestamp: microseconds since the epoch, UTC. */
export function fromMicros(us: number | string | bigint | null | undefined): Date | null {
  if (us === null || us === undefined) return null;
  let micros: bigint;
  if (typeof us === 'bigint') micros = us;
  else if (typeof us === 'number') {
    if (!Number.isFinite(us)) return null;
    micros = BigInt(Math.trunc(us));
  } else {
    const s = us.trim();
    if (!/^-?\d+$/.test(s)) return null;
    micros = BigInt(s);
  }
  const d = new Date(Number(micros / 1000n));
  return Number.isNaN(d.getTime()) ? null : d;
}
