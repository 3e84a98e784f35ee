/** An HTTP client with a cookie jar that sends the CSRF token back, as a browser's script would. */

export interface Response<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class Client {
  readonly base: string;
  readonly cookies = new Map<string, string>();

  constructor(base: string) {
    this.base = base;
  }

  get csrfToken(): string | undefined {
    return this.cookies.get('csrftoken');
  }

  #remember(headers: Headers): void {
    for (const cookie of headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      if (/Max-Age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(
    method: string,
    path: string,
    options: {
      json?: unknown;
      form?: Record<string, string>;
      raw?: string | Buffer;
      headers?: Record<string, string>;
      csrf?: boolean;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies]
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
        .join('; ');
    }
    let body: string | Buffer | undefined;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.raw !== undefined) {
      body = options.raw;
    }
    if (options.csrf !== false && method !== 'GET' && this.csrfToken) {
      headers['x-csrftoken'] ??= this.csrfToken;
    }
    const response = await fetch(this.base + path, {
      method,
      headers,
      body,
      redirect: 'manual',
    });
    this.#remember(response.headers);
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
      parsed = JSON.parse(text);
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('GET', path, { headers });
  }

  post(path: string, json: unknown): Promise<Response> {
    return this.request('POST', path, { json });
  }

  async bytes(path: string): Promise<{ status: number; headers: Headers; data: Buffer }> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    const response = await fetch(this.base + path, { headers: { cookie } });
    return {
      status: response.status,
      headers: response.headers,
      data: Buffer.from(await response.arrayBuffer()),
    };
  }

  /** Get a CSRF cookie, register and log in; resolve with the registration's answer. */
  async signUpAndLogIn(user: { email: string; name: string; password: string }): Promise<Response> {
    await this.get('/csrf');
    const registered = await this.post('/register', user);
    if (registered.status !== 202)
      throw new Error(`register: ${registered.status} ${registered.text}`);
    const loggedIn = await this.post('/login', { email: user.email, password: user.password });
    if (loggedIn.status !== 200) throw new Error(`login: ${loggedIn.status} ${loggedIn.text}`);
    return registered;
  }

  /** Poll a report's status until it is no longer pending. */
  async waitForReport(id: number): Promise<Response> {
    for (;;) {
      const status = await this.get(`/reports/${id}`);
      if (status.status !== 200 || status.body.status !== 'pending') return status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
