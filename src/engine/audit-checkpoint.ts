/**
 * Checkpoints of the audit log and the Ed25519 keys that sign them.
 *
 * A checkpoint says "the log `origin` had `size` entries and its RFC 6962 Merkle root was
 * `root`", in the C2SP tlog-checkpoint text form, wrapped as a C2SP signed note:
 *
 *     db-harness.audit/3f2a9c0d1e2b4a5c       ← origin: which log (from its first entry's hash)
 *     120                                     ← size: entries covered, counted from seq 1
 *     q0Zk...base64 root...=                  ← root
 *                                             ← blank line, then one line per signature:
 *     — db-harness Ab3xY...base64(key id[4] ‖ Ed25519 signature[64])
 *
 * The signature is over the body (the three lines, each ending in a newline); the key id is the
 * first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), as C2SP signed notes define it, so
 * a verifier skips signatures by keys it was not given (key rotation, witness cosignatures). A
 * checkpoint with no signature line is allowed: kept somewhere safe (a CI artifact), it still
 * catches truncation and rewriting; it just proves nothing by itself.
 *
 * Keys (node:crypto KeyObjects; the same calls work on Node, Bun and Deno):
 * - private (`DB_HARNESS_AUDIT_KEY`): a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), or the
 *   32-byte Ed25519 seed in base64 (one line, handy as a CI variable);
 * - public (`--public-key FILE`, committed to the repository): an SPKI PEM
 *   (`-----BEGIN PUBLIC KEY-----`), or the 32 raw bytes in base64.
 * `db-harness audit keygen` writes both.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto"

export const SIGNER_NAME = "db-harness"
const ED25519_ALGORITHM = 0x01
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

export interface Checkpoint {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
}

export interface SignatureLine {
  readonly name: string
  readonly keyId: string // 8 hex digits
  readonly signature: Uint8Array
}

export interface ParsedCheckpoint extends Checkpoint {
  /** The signed bytes: the three body lines. */
  readonly body: string
  readonly signatures: ReadonlyArray<SignatureLine>
}

export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly keyId: string
}

/** The raw 32 bytes of an Ed25519 public key. */
const rawPublic = (key: KeyObject): Uint8Array => key.export({ format: "der", type: "spki" }).subarray(SPKI_ED25519_PREFIX.length)

export const keyIdOf = (publicKey: KeyObject, name = SIGNER_NAME): string =>
  createHash("sha256")
    .update(`${name}\n`)
    .update(new Uint8Array([ED25519_ALGORITHM]))
    .update(rawPublic(publicKey))
    .digest()
    .subarray(0, 4)
    .toString("hex")

const isEd25519 = (key: KeyObject) => key.asymmetricKeyType === "ed25519"

/** Read a private key (PKCS#8 PEM or base64 seed); the error text never contains the key. */
export const parseSigningKey = (text: string): SigningKey => {
  const trimmed = text.trim()
  let privateKey: KeyObject
  if (trimmed.startsWith("-----BEGIN")) {
    try {
      privateKey = createPrivateKey(trimmed)
    } catch {
      throw new Error("is a PEM block but not a readable private key (expected PKCS#8, -----BEGIN PRIVATE KEY-----)")
    }
  } else {
    const seed = Buffer.from(trimmed, "base64")
    if (seed.length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(trimmed)) {
      throw new Error("is neither a PKCS#8 PEM private key nor a base64 Ed25519 seed of 32 bytes")
    }
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" })
  }
  if (!isEd25519(privateKey)) throw new Error(`is a ${privateKey.asymmetricKeyType ?? "unknown"} key, not Ed25519`)
  const publicKey = createPublicKey(privateKey)
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) }
}

/** Read a public key (SPKI PEM or base64 of 32 raw bytes). */
export const parsePublicKey = (text: string): KeyObject => {
  const trimmed = text.trim()
  let key: KeyObject
  if (trimmed.startsWith("-----BEGIN")) {
    try {
      key = createPublicKey(trimmed)
    } catch {
      throw new Error("is a PEM block but not a readable public key (expected -----BEGIN PUBLIC KEY-----)")
    }
  } else {
    const raw = Buffer.from(trimmed, "base64")
    if (raw.length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(trimmed)) {
      throw new Error("is neither a PEM public key nor 32 bytes of base64")
    }
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
  }
  if (key.type !== "public") throw new Error("holds a private key; give the public key")
  if (!isEd25519(key)) throw new Error(`is a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519`)
  return key
}

export interface GeneratedKeyPair {
  readonly privatePem: string
  readonly publicPem: string
  readonly seedBase64: string
  readonly keyId: string
}

export const generateSigningKey = (): GeneratedKeyPair => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  const der = privateKey.export({ format: "der", type: "pkcs8" })
  return {
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
    seedBase64: der.subarray(PKCS8_ED25519_PREFIX.length).toString("base64"),
    keyId: keyIdOf(publicKey)
  }
}

export const checkpointBody = (checkpoint: Checkpoint): string =>
  `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString("base64")}\n`

/** The checkpoint as a signed note; unsigned (body and blank line only) without a key. */
export const formatCheckpoint = (checkpoint: Checkpoint, key: SigningKey | undefined): string => {
  const body = checkpointBody(checkpoint)
  if (key === undefined) return `${body}\n`
  const signature = sign(null, Buffer.from(body, "utf8"), key.privateKey)
  const blob = Buffer.concat([Buffer.from(key.keyId, "hex"), signature]).toString("base64")
  return `${body}\n\u2014 ${SIGNER_NAME} ${blob}\n`
}

/** Parse a checkpoint note; throws an Error saying what is malformed. */
export const parseCheckpoint = (text: string): ParsedCheckpoint => {
  const split = text.indexOf("\n\n")
  if (split < 0) throw new Error("not a checkpoint: no blank line after the body")
  const body = text.slice(0, split + 1)
  const lines = body.slice(0, -1).split("\n")
  if (lines.length < 3) throw new Error("not a checkpoint: the body needs origin, size and root lines")
  const [origin, sizeText, rootText] = lines as [string, string, string]
  if (!/^[1-9][0-9]*$|^0$/.test(sizeText)) throw new Error(`not a checkpoint: size "${sizeText}" is not a number`)
  const root = Buffer.from(rootText, "base64")
  if (root.length !== 32) throw new Error("not a checkpoint: the root is not 32 bytes of base64")
  const signatures: Array<SignatureLine> = []
  for (const line of text.slice(split + 2).split("\n")) {
    if (line === "") continue
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line)
    if (match === null) throw new Error(`not a checkpoint: malformed signature line "${line.slice(0, 60)}"`)
    const blob = Buffer.from(match[2]!, "base64")
    if (blob.length < 5) throw new Error("not a checkpoint: a signature line is too short")
    signatures.push({ name: match[1]!, keyId: blob.subarray(0, 4).toString("hex"), signature: blob.subarray(4) })
  }
  return { origin, size: Number(sizeText), root, body, signatures }
}

export type SignatureStatus =
  /** Signed by the given key, and the signature holds. */
  | "valid"
  /** A signature line claims the given key but does not verify: the body or signature was changed. */
  | "invalid"
  /** Signed, but by no key the verifier was given (another key, or a forger's). */
  | "unknown-key"
  /** No signature line. */
  | "unsigned"
  /** Signed, and no public key was given to check it. */
  | "not-checked"

export const checkSignature = (checkpoint: ParsedCheckpoint, publicKey: KeyObject | undefined): SignatureStatus => {
  if (checkpoint.signatures.length === 0) return "unsigned"
  if (publicKey === undefined) return "not-checked"
  const keyId = keyIdOf(publicKey)
  const mine = checkpoint.signatures.filter((s) => s.name === SIGNER_NAME && s.keyId === keyId)
  if (mine.length === 0) return "unknown-key"
  const body = Buffer.from(checkpoint.body, "utf8")
  return mine.some((s) => s.signature.length === 64 && verify(null, body, publicKey, s.signature)) ? "valid" : "invalid"
}
