// The HTTP server an Express app is served by. Express gives every request and response its
// own prototypes as it arrives (`Object.setPrototypeOf(req, app.request)` in app.handle); V8
// then turns both objects into slow ones with a fresh shape each time, every property access
// on them misses its inline cache, and what they reference lives long enough to be promoted.
// A GET /healthz under load: 11 000 requests/s, 34.5 KiB allocated and 9.2 KiB promoted per
// request; with the objects made with Express's prototypes from the start (the server's
// IncomingMessage and ServerResponse options), Express's call finds the prototype already set
// and does nothing (ECMA-262 OrdinarySetPrototypeOf step 3): 42 000/s, 17.6 KiB, nothing
// promoted (issue 12).
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';

export interface AppServer {
  server: Server;
  /** Serves `app` (before the first request: the port may be taken first, e.g. for ISSUER_URL). */
  serve(app: Express): void;
}

// Node's IncomingMessage and ServerResponse are plain constructor functions, so a constructor
// with another prototype can run them on its own object.
const initRequest = IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void;
const initResponse = ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options?: object) => void;

export function createAppServer(): AppServer {
  function Request(this: IncomingMessage, socket: Socket) {
    initRequest.call(this, socket);
  }
  function Response(this: ServerResponse, req: IncomingMessage, options?: object) {
    initResponse.call(this, req, options);
  }
  const server = createServer({
    IncomingMessage: Request as unknown as typeof IncomingMessage,
    ServerResponse: Response as unknown as typeof ServerResponse,
  });
  return {
    server,
    serve(app) {
      Request.prototype = app.request;
      Response.prototype = app.response;
      server.on('request', app);
    },
  };
}
