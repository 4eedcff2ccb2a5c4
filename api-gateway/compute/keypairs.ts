// Nova os-keypairs: per-user named SSH keys (kind "keypair", id "<user id>:<name>"); create by import
// or by generation (the private key is returned once and never stored).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import { requireAdmin } from "../auth/policy.ts";
import type { GatewayContext } from "../context.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError, OverLimitError } from "../errors.ts";
import { bodyObject, optString, query } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { hash32 } from "../../protocol/random.ts";
import { atLeast } from "./microversion.ts";
import { generateRsaKeyPair, parsePublicKey } from "./ssh-keys.ts";

export const KEYPAIR = "keypair";
export const MAX_KEYPAIRS_PER_USER = 100;
const NAME = /^(?! )[a-zA-Z0-9. _@-]{1,255}(?<! )$/;

export const keypairId = (userId: string, name: string) => `${userId}:${name}`;

export const keypairRoutes: FastifyPluginAsync<{ ctx: GatewayContext }> = async (app, { ctx }) => {
  /** The user whose keys are meant: the caller, or ?user_id= for admins from 2.10. */
  const owner = (req: FastifyRequest, asked: unknown): string => {
    const a = requireAuth(req);
    if (asked === undefined || asked === null || asked === a.user.id || !atLeast(req, 10)) return a.user.id;
    requireAdmin(a, "os_compute_api:os-keypairs");
    if (typeof asked !== "string" || !ctx.identity.user(asked)) throw new InvalidRequestError(`user_id "${String(asked)}" does not exist`);
    return asked;
  };
  const find = (userId: string, name: string): CatalogRecord => {
    const k = ctx.store.get(KEYPAIR, keypairId(userId, name));
    if (!k) throw new ItemNotFoundError("keypair", name, `Keypair ${name} not found for user ${userId}`);
    return k;
  };
  const view = (req: FastifyRequest, k: CatalogRecord, full: boolean): Record<string, unknown> => {
    const v: Record<string, unknown> = { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint };
    if (atLeast(req, 2)) v.type = k.type;
    if (full) Object.assign(v, { user_id: k.user_id, id: hash32(k.id), created_at: k.created_at, deleted: false, deleted_at: null, updated_at: null });
    return v;
  };

  app.post("/os-keypairs", async (req, reply) => {
    const body = bodyObject(req, "keypair");
    const name = optString(body, "name", 255);
    if (!name || !NAME.test(name)) throw new InvalidRequestError("Keypair data is invalid: Keypair name contains unsafe characters or is not 1-255 characters");
    const userId = owner(req, body.user_id);
    const type = atLeast(req, 2) ? (optString(body, "type", 10) ?? "ssh") : "ssh";
    if (type !== "ssh") throw new InvalidRequestError(`Keypair type "${type}" is not supported (only ssh)`);
    if (ctx.store.get(KEYPAIR, keypairId(userId, name))) throw new ConflictError(`Key pair '${name}' already exists.`);
    if (ctx.store.list(KEYPAIR, (k) => k.user_id === userId).length >= MAX_KEYPAIRS_PER_USER) throw new OverLimitError(`Quota exceeded, too many key pairs.`);
    const imported = optString(body, "public_key", 65535);
    let privateKey: string | undefined;
    let publicKey: string;
    let fingerprint: string;
    if (imported !== undefined) {
      fingerprint = parsePublicKey(imported, name).fingerprint;
      publicKey = imported.trim();
    } else {
      const g = await generateRsaKeyPair("Generated-by-peerstack");
      ({ publicKey, privateKey, fingerprint } = g);
    }
    await ctx.store.put(KEYPAIR, keypairId(userId, name), { name, user_id: userId, public_key: publicKey, fingerprint, type, created_at: isoMicro(ctx.clock.now()) });
    const out: Record<string, unknown> = { name, public_key: publicKey, fingerprint, user_id: userId };
    if (atLeast(req, 2)) out.type = type;
    if (privateKey) out.private_key = privateKey;
    reply.code(atLeast(req, 2) ? 201 : 200);
    return { keypair: out };
  });

  app.get("/os-keypairs", async (req) => {
    const q = query(req);
    const userId = owner(req, q.user_id);
    let keys = ctx.store.list(KEYPAIR, (k) => k.user_id === userId).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    if (atLeast(req, 35) && q.marker !== undefined) {
      const i = keys.findIndex((k) => k.name === q.marker);
      if (i < 0) throw new InvalidRequestError(`marker [${q.marker}] not found`);
      keys = keys.slice(i + 1);
    }
    if (atLeast(req, 35) && q.limit !== undefined) keys = keys.slice(0, Math.max(0, Number(q.limit) || 0));
    return { keypairs: keys.map((k) => ({ keypair: view(req, k, false) })) };
  });

  app.get<{ Params: { name: string } }>("/os-keypairs/:name", async (req) => {
    const userId = owner(req, query(req).user_id);
    return { keypair: view(req, find(userId, req.params.name), true) };
  });

  app.delete<{ Params: { name: string } }>("/os-keypairs/:name", async (req, reply: FastifyReply) => {
    const userId = owner(req, query(req).user_id);
    const k = find(userId, req.params.name);
    await ctx.store.remove(KEYPAIR, k.id);
    return reply.code(atLeast(req, 2) ? 204 : 202).send();
  });

};
