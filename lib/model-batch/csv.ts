// The small part of CSV (RFC 4180) that batching needs: quoting one field, splitting a body into
// rows without breaking quoted fields, and checking that a row's quoting is well formed. Pure.

const QUOTE = 0x22;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Quotes a field so that commas, quotes and line breaks in it survive: `a"b` → `"a""b"`. */
export function quoteCsvField(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/**
 * Splits CSV text into rows, each without its line break (`\n` or `\r\n`). A line break inside a
 * quoted field belongs to the field. A line break at the very end ends the last row rather than
 * starting an empty one. Null when a quote is left open: the row boundaries are then unknowable.
 */
export function splitCsvRows(text: string): string[] | null {
  const rows: string[] = [];
  let quoted = false;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    // A doubled quote inside a quoted field toggles twice, which leaves the state unchanged.
    if (code === QUOTE) quoted = !quoted;
    else if (code === NEWLINE && !quoted) {
      const end =
        index > start && text.charCodeAt(index - 1) === CARRIAGE_RETURN ? index - 1 : index;
      rows.push(text.slice(start, end));
      start = index + 1;
    }
  }
  if (quoted) return null;
  if (start < text.length) rows.push(text.slice(start));
  return rows;
}

/**
 * The fields of one row, unquoted; null when the quoting is malformed (a quote inside an
 * unquoted field, or anything but a comma after a closing quote).
 */
export function parseCsvFields(row: string): string[] | null {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    if (row.charCodeAt(index) === QUOTE) {
      let value = '';
      let from = index + 1;
      for (;;) {
        const close = row.indexOf('"', from);
        if (close === -1) return null;
        value += row.slice(from, close);
        if (row.charCodeAt(close + 1) === QUOTE) {
          value += '"';
          from = close + 2;
          continue;
        }
        index = close + 1;
        break;
      }
      fields.push(value);
    } else {
      const comma = row.indexOf(',', index);
      const end = comma === -1 ? row.length : comma;
      const value = row.slice(index, end);
      if (value.includes('"')) return null;
      fields.push(value);
      index = end;
    }
    if (index === row.length) return fields;
    if (row.charCodeAt(index) !== COMMA) return null;
    index += 1;
  }
}
