/**
 * The Merkle tree of the audit log, as RFC 6962 (Certificate Transparency) defines it, so a
 * checkpoint's root commits to every entry in order and can be checked by any tool that speaks
 * transparency logs. Hashes are domain-separated: a leaf is SHA-256(0x00 ‖ entry bytes), an inner
 * node SHA-256(0x01 ‖ left ‖ right), so an entry can never pass for a node (second preimages).
 *
 * `MerkleFrontier` keeps only the roots of the perfect subtrees the leaves so far make (at most
 * log2(n) hashes, one per set bit of n), which is all that is needed to add leaves and to compute
 * the root of the tree at its current size: the RFC 6962 tree of n leaves is exactly those
 * subtrees, largest first, folded from the right. So the verifier computes the root at every
 * checkpoint size in one pass, and the appender extends the tree without rereading the log.
 */
import { createHash, hash } from "node:crypto"

const NODE_PREFIX = new Uint8Array([1])

/** SHA-256(0x00 ‖ UTF-8 bytes of the entry line). One-shot `hash` (Node ≥ 21.7, Bun, Deno): the
 * verifier calls this once per entry, and three calls through `createHash` cost twice as much. */
export const leafHash = (entryLine: string): Uint8Array => hash("sha256", `\u0000${entryLine}`, "buffer")

export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array =>
  createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest()

/** The root of the empty tree: SHA-256 of nothing (RFC 6962 §2.1). */
export const EMPTY_ROOT: Uint8Array = createHash("sha256").digest()

export class MerkleFrontier {
  /** Subtree roots, largest (leftmost) first; subtree i covers 2^heights[i] leaves. */
  private readonly hashes: Array<Uint8Array>
  private readonly heights: Array<number>
  private count: number

  constructor(size = 0, hashes: ReadonlyArray<Uint8Array> = []) {
    const heights: Array<number> = []
    for (let bit = 52; bit >= 0; bit--) if (Math.floor(size / 2 ** bit) % 2 === 1) heights.push(bit)
    if (heights.length !== hashes.length) {
      throw new RangeError(`a Merkle frontier of ${size} leaves has ${heights.length} subtree roots, not ${hashes.length}`)
    }
    this.count = size
    this.hashes = [...hashes]
    this.heights = heights
  }

  get size(): number {
    return this.count
  }

  /** The subtree roots, for storing and resuming with `new MerkleFrontier(size, hashes)`. */
  get subtrees(): ReadonlyArray<Uint8Array> {
    return this.hashes
  }

  push(leaf: Uint8Array): void {
    let hash = leaf
    let height = 0
    // Merge equal-height subtrees, like carrying in binary addition.
    while (this.heights.length > 0 && this.heights[this.heights.length - 1] === height) {
      this.heights.pop()
      hash = nodeHash(this.hashes.pop()!, hash)
      height++
    }
    this.hashes.push(hash)
    this.heights.push(height)
    this.count++
  }

  /** MTH(leaves[0..size)) of RFC 6962. */
  root(): Uint8Array {
    if (this.hashes.length === 0) return EMPTY_ROOT
    let hash = this.hashes[this.hashes.length - 1]!
    for (let i = this.hashes.length - 2; i >= 0; i--) hash = nodeHash(this.hashes[i]!, hash)
    return hash
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.count, this.hashes)
  }
}

/** The RFC 6962 root straight from its recursive definition; for tests of the frontier. */
export const merkleRootRecursive = (leaves: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (leaves.length === 0) return EMPTY_ROOT
  if (leaves.length === 1) return leaves[0]!
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return nodeHash(merkleRootRecursive(leaves.slice(0, k)), merkleRootRecursive(leaves.slice(k)))
}
