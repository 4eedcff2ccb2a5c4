// OpenSSH public keys: parse and fingerprint an imported key; generate an RSA pair as Nova does
// (private key in PEM, public key in OpenSSH format).
import { createHash, createPublicKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { InvalidRequestError } from "../errors.ts";

const TYPES = new Set(["ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]);

/** MD5 of the key blob, colon-separated hex (Nova's fingerprint format). */
export function fingerprintOf(blob: Uint8Array): string {
  return createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
}

/** Validates "type base64 [comment]"; returns the blob and fingerprint. */
export function parsePublicKey(text: string, keyName: string): { type: string; blob: Buffer; fingerprint: string } {
  const parts = text.trim().split(/\s+/);
  const invalid = () => new InvalidRequestError(`Keypair data is invalid: failed to generate fingerprint for key pair "${keyName}"`);
  if (parts.length < 2 || !TYPES.has(parts[0]) || !/^[A-Za-z0-9+/]+={0,2}$/.test(parts[1])) throw invalid();
  const blob = Buffer.from(parts[1], "base64");
  if (blob.length < 4) throw invalid();
  const len = blob.readUInt32BE(0);
  if (len + 4 > blob.length || blob.subarray(4, 4 + len).toString("latin1") !== parts[0]) throw invalid();
  return { type: parts[0], blob, fingerprint: fingerprintOf(blob) };
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** SSH mpint: big-endian, with a leading zero byte when the high bit is set. */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return sshString(v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

const generateRsa = promisify(generateKeyPair);

export async function generateRsaKeyPair(comment: string): Promise<{ publicKey: string; privateKey: string; fingerprint: string }> {
  const { publicKey: publicPem, privateKey } = await generateRsa("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
  const publicKey = createPublicKey(publicPem).export({ format: "jwk" });
  const blob = Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from(publicKey.e!, "base64url")), mpint(Buffer.from(publicKey.n!, "base64url"))]);
  return { publicKey: `ssh-rsa ${blob.toString("base64")} ${comment}`, privateKey, fingerprint: fingerprintOf(blob) };
}
