/**
 * Input validation for the views, like Django forms: each returns the cleaned values or a
 * message per field. Nothing is created unless the whole input is valid.
 */
import type { ReportRow } from './models/index.ts';
import { MAX_PASSWORD_LENGTH, validatePassword } from './password-validation.ts';

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: Record<string, string> };

/** A request body as fastify parsed it: an object for JSON and forms, anything else otherwise. */
type Body = unknown;

function field(body: Body, name: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  return (body as Record<string, unknown>)[name];
}

function text(
  body: Body,
  name: string,
  label: string,
  errors: Record<string, string>,
  options: { max: number; min?: number; trim?: boolean },
): string {
  const raw = field(body, name);
  if (raw === undefined || raw === null || raw === '') {
    errors[name] = `${label} is required.`;
    return '';
  }
  if (typeof raw !== 'string') {
    errors[name] = `${label} must be a string.`;
    return '';
  }
  const value = options.trim === false ? raw : raw.trim();
  if (value.length === 0) errors[name] = `${label} is required.`;
  else if (value.length > options.max)
    errors[name] = `${label} must have at most ${options.max} characters (it has ${value.length}).`;
  else if (options.min !== undefined && value.length < options.min)
    errors[name] = `${label} must have at least ${options.min} characters.`;
  return value;
}

// The WHATWG "valid email address" pattern, as browsers check <input type="email">.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

export interface Registration {
  email: string;
  name: string;
  password: string;
}

/**
 * Validate a signup: a real-looking email, a name, and a password that passes Django's
 * validators (length, similarity to the email and name, common, all-numeric).
 */
export function cleanRegistration(body: Body): FormResult<Registration> {
  const errors: Record<string, string> = {};
  const email = text(body, 'email', 'Email', errors, { max: 254 });
  if (!errors.email && !EMAIL.test(email)) errors.email = 'Enter a valid email address.';
  const name = text(body, 'name', 'Name', errors, { max: 150 });
  const password = text(body, 'password', 'Password', errors, {
    max: MAX_PASSWORD_LENGTH,
    trim: false,
  });
  if (!errors.password) {
    const problems = validatePassword(password, { 'email address': email, name });
    if (problems.length > 0) errors.password = problems.join(' ');
  }
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, data: { email, name, password } };
}

export interface Credentials {
  email: string;
  password: string;
}

/** Validate a login form: both fields present. */
export function cleanLogin(body: Body): FormResult<Credentials> {
  const errors: Record<string, string> = {};
  const email = text(body, 'email', 'Email', errors, { max: 254 });
  const password = text(body, 'password', 'Password', errors, { max: 128, trim: false });
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, data: { email, password } };
}

export interface ReportRequest {
  title: string;
  data: ReportRow[];
}

export const MAX_REPORT_ROWS = 24;

function parseRows(raw: unknown, errors: Record<string, string>): ReportRow[] {
  let rows: unknown[];
  if (typeof raw === 'string') {
    // The HTML form's textarea: "label, value" per line.
    rows = [];
    for (const [index, line] of raw.split(/\r?\n/).entries()) {
      if (line.trim() === '') continue;
      const comma = line.lastIndexOf(',');
      if (comma < 0) {
        errors.data = `Line ${index + 1} must look like "label, value" (got "${line.slice(0, 40)}").`;
        return [];
      }
      const value = line.slice(comma + 1).trim();
      rows.push({ label: line.slice(0, comma).trim(), value: value === '' ? NaN : Number(value) });
    }
  } else if (Array.isArray(raw)) {
    rows = raw;
  } else {
    errors.data = 'Data must be a list of {"label", "value"} rows.';
    return [];
  }
  if (rows.length === 0) {
    errors.data = 'Data needs at least one row.';
    return [];
  }
  if (rows.length > MAX_REPORT_ROWS) {
    errors.data = `Data may have at most ${MAX_REPORT_ROWS} rows (got ${rows.length}).`;
    return [];
  }
  const clean: ReportRow[] = [];
  for (const [index, row] of rows.entries()) {
    const label = field(row, 'label');
    const value = field(row, 'value');
    if (typeof label !== 'string' || label.trim() === '' || label.length > 60) {
      errors.data = `Row ${index + 1}: the label must be text of 1 to 60 characters.`;
      return [];
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 1e12) {
      errors.data = `Row ${index + 1} ("${label.slice(0, 40)}"): the value must be a number.`;
      return [];
    }
    clean.push({ label: label.trim(), value });
  }
  return clean;
}

/** Validate a report request: a title and 1 to 24 rows of label and number. */
export function cleanReportRequest(body: Body): FormResult<ReportRequest> {
  const errors: Record<string, string> = {};
  const title = text(body, 'title', 'Title', errors, { max: 120 });
  const raw = field(body, 'data');
  const data =
    raw === undefined ? ((errors.data = 'Data is required.'), []) : parseRows(raw, errors);
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, data: { title, data } };
}

/** Parse a URL id: a whole number from 1 to 2^31-1, or `null`. */
export function parseId(raw: string): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(raw)) return null;
  const id = Number(raw);
  return id <= 2_147_483_647 ? id : null;
}

/** The fields of a form body as typed, to show the form again after an error (never passwords). */
export function typedValues(body: Body, names: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = field(body, name);
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}

/** One sentence from a form's errors, for JSON clients and flash messages. */
export function describeErrors(errors: Record<string, string>): string {
  return Object.values(errors).join(' ');
}
