// OpenStack error bodies, one renderer per service family, and the fastify error/not-found handlers
// a service plugin installs in its own (encapsulated) context.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { PeerstackError } from "../protocol/errors.ts";
import { ItemNotFoundError, messageOf, statusOf } from "./errors.ts";

export type ErrorStyle = "nova" | "keystone" | "neutron" | "glance" | "cinder";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

// Nova and Cinder name the fault after the webob exception class.
const NOVA_FAULTS: Record<number, string> = {
  400: "badRequest",
  401: "unauthorized",
  403: "forbidden",
  404: "itemNotFound",
  405: "badMethod",
  406: "notAcceptable",
  409: "conflictingRequest",
  413: "overLimit",
  415: "badMediaType",
  501: "notImplemented",
  503: "serviceUnavailable",
};

const NEUTRON_TYPES: Record<number, string> = {
  400: "BadRequest",
  401: "NotAuthorized",
  403: "PolicyNotAuthorized",
  404: "NotFound",
  409: "Conflict",
  413: "OverQuota",
  501: "NotImplemented",
  503: "ServiceUnavailable",
};

/** Keystone's 401 body, which keystonemiddleware also returns in front of every other service. */
function keystoneBody(status: number, message: string): unknown {
  return { error: { code: status, title: TITLES[status] ?? "Error", message } };
}

export function errorBody(style: ErrorStyle, status: number, message: string, err?: unknown): unknown {
  if (status === 401 && style !== "keystone") return keystoneBody(status, message);
  switch (style) {
    case "keystone":
      return keystoneBody(status, message);
    case "nova":
    case "cinder":
      return { [NOVA_FAULTS[status] ?? "computeFault"]: { code: status, message } };
    case "neutron": {
      let type = NEUTRON_TYPES[status] ?? "HTTPInternalServerError";
      if (err instanceof ItemNotFoundError) type = `${err.itemType.charAt(0).toUpperCase()}${err.itemType.slice(1)}NotFound`;
      return { NeutronError: { type, message, detail: "" } };
    }
    case "glance":
      return { code: `${status} ${TITLES[status] ?? "Error"}`, title: TITLES[status] ?? "Error", message };
  }
}

/** Installs error and not-found handlers rendering `style` in the calling plugin's context. */
export function useErrorStyle(app: FastifyInstance, style: ErrorStyle, identityUrl?: (req: FastifyRequest) => string, opts: { notFound?: boolean } = {}): void {
  app.setErrorHandler((err: FastifyError | PeerstackError, req, reply) => {
    const status = statusOf(err);
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ code: (err as { code?: string }).code, status }, err.message);
    sendError(reply, style, status, messageOf(err, status), err, identityUrl?.(req));
  });
  if (opts.notFound === false) return;
  app.setNotFoundHandler((req, reply) => {
    sendError(reply, style, 404, `The resource could not be found.`, undefined);
    req.log.info({ url: req.url }, "no such route");
  });
}

export function sendError(reply: FastifyReply, style: ErrorStyle, status: number, message: string, err: unknown, identityUrl?: string): FastifyReply {
  if (status === 401 && identityUrl) reply.header("WWW-Authenticate", `Keystone uri="${identityUrl}"`);
  return reply.code(status).type("application/json").send(errorBody(style, status, message, err));
}
