// The API client: JSON in, JSON out, errors in the API's one shape.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function request(path, init) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init.headers || {}) } });
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body && body.error) || {};
    let message = error.message || `${response.status} ${response.statusText}`;
    const retry = response.headers.get('retry-after');
    if (response.status === 429 && retry) message += ` (retry in ${retry} s)`;
    throw new ApiError(response.status, error.code || `http_${response.status}`, message, error.details);
  }
  return body;
}

export function getJson(path) {
  return request(path, { method: 'GET' });
}

export function postJson(path, payload, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return request(path, { method: 'POST', headers, body: JSON.stringify(payload) });
}
