// The live connection: one WebSocket to /ws, topics re-subscribed on every reconnect.
// When the socket is unavailable (refused, closed, silent past the heartbeat) the state is
// "polling": panels then refresh on a timer (main.js) while reconnects back off to 30 s.

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
// The server sends a heartbeat every WS_HEARTBEAT_S (30 s by default); silence for longer than
// this means the connection is dead even if the browser has not noticed yet.
const SILENCE_MS = 75000;

export class Live {
  constructor(url) {
    this.url = url;
    this.handlers = new Map(); // topic -> Set of functions(data, frame)
    this.listeners = new Set(); // functions(state)
    this.state = 'connecting';
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.retryTimer = null;
    this.silenceTimer = null;
  }

  start() {
    if (typeof window.WebSocket !== 'function') {
      this.setState('polling');
      return;
    }
    this.connect();
  }

  onState(listener) {
    this.listeners.add(listener);
    listener(this.state);
  }

  get live() {
    return this.state === 'live';
  }

  /** Receive snapshots and updates of `topic`; returns a function that stops them. */
  subscribe(topic, handler) {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      this.send({ subscribe: [topic] });
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(topic) === set) {
        this.handlers.delete(topic);
        this.send({ unsubscribe: [topic] });
      }
    };
  }

  connect() {
    clearTimeout(this.retryTimer);
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.lost();
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryMs = FIRST_RETRY_MS;
      this.setState('live');
      this.heard();
      const topics = [...this.handlers.keys()];
      if (topics.length) this.send({ subscribe: topics });
    });
    socket.addEventListener('message', (event) => {
      this.heard();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.dispatch(frame);
    });
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.lost();
    });
  }

  dispatch(frame) {
    if (frame.type === 'snapshot' || frame.type === 'update') {
      for (const handler of this.handlers.get(frame.topic) || []) handler(frame.data, frame);
    } else if (frame.type === 'error') {
      console.warn('ws:', frame.message, frame.topic || '');
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  heard() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.socket && this.socket.close(), SILENCE_MS);
  }

  lost() {
    clearTimeout(this.silenceTimer);
    this.socket = null;
    this.setState('polling');
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }
}
