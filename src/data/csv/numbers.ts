// Numbers as spreadsheets write them: thousands separators (1,234.50 · 1.234,50 · 1 234,50 ·
// 1'234.50), a currency sign before or after ($ € £ ¥, with or without a space), a percent (read as
// a fraction: 38.8% → 0.388), accounting negatives ((45.00) → −45) and a leading +. Plain numbers
// never come here: the byte parser reads them; a cell lands here only when it is not plain.
//
// Which separator groups thousands and which marks the decimals is a column's convention: sniffed
// from the training file's first records (per column, csv.ts), stored in the schema, and applied
// unchanged to every file the model reads later (--thousands overrides it).

export type DecimalMark = '.' | ',';
/** The grouping character, or none (then no grouping is read). Spaces of every width group in any convention but none. */
export type ThousandsMark = ',' | '.' | ' ' | "'" | 'none';
export const THOUSANDS_MARKS: readonly ThousandsMark[] = [',', '.', ' ', "'", 'none'];

export interface NumberFormat {
  readonly decimal: DecimalMark;
  readonly thousands: ThousandsMark;
}

/** The other mark groups thousands: 1,234.5 with a decimal point, 1.234,5 with a decimal comma. */
export function defaultFormat(decimal: DecimalMark): NumberFormat {
  return { decimal, thousands: decimal === '.' ? ',' : '.' };
}

/** Space, no-break space, narrow no-break space and thin space: what "1 234,50" is written with. */
const SPACES = ' \u00a0\u202f\u2009';
/** Currency signs, and the codes exports write instead (USD 1,234.50, 12,50 EUR). */
const CURRENCY = `[$€£¥₹]|US\\$|USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|INR|SEK|NOK|DKK|PLN`;
// sign, currency, sign, the number, percent, currency: at most one sign and one currency (checked below).
const SHAPE = new RegExp(`^([+-]?)[${SPACES}]*(${CURRENCY})?[${SPACES}]*([+-]?)[${SPACES}]*([0-9](?:[0-9.,'${SPACES}]*[0-9])?[.,]?|[.,][0-9]+)[${SPACES}]*(%?)[${SPACES}]*(${CURRENCY})?$`);
const EXPONENT = /^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/;

function escape(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const PATTERNS = new Map<string, RegExp>();

/** digits, grouped by threes where the convention groups, then the decimals. */
function digitsPattern(format: NumberFormat): RegExp {
  const key = `${format.decimal}${format.thousands}`;
  let pattern = PATTERNS.get(key);
  if (!pattern) {
    const d = escape(format.decimal);
    const group = format.thousands === 'none' ? '' : `[${format.thousands === ' ' ? '' : escape(format.thousands)}${SPACES}]`;
    const grouped = group ? `|\\d{1,3}(?:${group}\\d{3})+` : '';
    pattern = new RegExp(`^(?:(\\d+${grouped})(?:${d}(\\d*))?|${d}(\\d+))$`);
    PATTERNS.set(key, pattern);
  }
  return pattern;
}

/**
 * The value of a formatted number cell (already trimmed), or NaN when the text is not a number in
 * this convention. Accepts exactly one number with at most one sign (or parentheses), one currency
 * sign and one percent.
 */
export function parseFormatted(text: string, format: NumberFormat): number {
  let body = text;
  let negative = false;
  if (body.length > 2 && body[0] === '(' && body[body.length - 1] === ')') {
    negative = true;
    body = body.slice(1, -1).trim();
  }
  if (EXPONENT.test(body)) return negative ? NaN : Number(format.decimal === ',' ? body.replace(',', '.') : body);
  const m = SHAPE.exec(body);
  if (!m) return NaN;
  const [, sign1, currency1 = '', sign2, digits, percent, currency2 = ''] = m as unknown as [string, string, string | undefined, string, string, string, string | undefined];
  if ((sign1 && sign2) || (currency1 && currency2) || (negative && (sign1 || sign2))) return NaN;
  const parts = digitsPattern(format).exec(digits);
  if (!parts) return NaN;
  const whole = (parts[1] ?? '0').replace(/[^0-9]/g, '');
  const fraction = parts[2] ?? parts[3] ?? '';
  let value = Number(`${whole}.${fraction || '0'}`);
  if (percent) value /= 100;
  if (negative || sign1 === '-' || sign2 === '-') value = -value;
  return value;
}

/** Whether a cell looks like a number at all (digits and number punctuation only): a column of such cells is no category. */
export function looksNumeric(text: string): boolean {
  return /\d/.test(text) && /^[0-9+\-.,'()%$€£¥₹\s\u00a0\u202f\u2009eE/:]*$/.test(text.replace(/US\$|USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|INR|SEK|NOK|DKK|PLN/g, ''));
}

/**
 * The convention of one column from sample cells: the one that reads more of them as numbers;
 * on a tie (no separators, or only ambiguous ones like 1,234), the file's own decimal mark.
 */
export function sniffFormat(cells: Iterable<string>, fileDecimal: DecimalMark): { format: NumberFormat; formatted: number } {
  const candidates: NumberFormat[] = [defaultFormat(fileDecimal), defaultFormat(fileDecimal === '.' ? ',' : '.')];
  const counts = [0, 0];
  let formatted = 0;
  for (const cell of cells) {
    if (cell === '' || /^[+-]?(\d+|\d*\.\d+)([eE][+-]?\d+)?$/.test(cell)) continue;
    let any = false;
    candidates.forEach((format, i) => {
      if (Number.isFinite(parseFormatted(cell, format))) {
        counts[i]!++;
        any = true;
      }
    });
    if (any) formatted++;
  }
  return { format: counts[1]! > counts[0]! ? candidates[1]! : candidates[0]!, formatted };
}

/** How a convention reads in messages and the schema printout: "1,234.5". */
export function describeFormat(format: NumberFormat): string {
  const group = format.thousands === 'none' ? '' : format.thousands;
  return `1${group}234${format.decimal}5`;
}
