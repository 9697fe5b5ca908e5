// The key format as docs/using-the-api.md defines it, held to vectors computed apart from the
// gateway's code: the CRC32 by Python's zlib (`zlib.crc32(first50.encode())`), the checksum by
// the docs' base-62 rule (alphabet 0-9A-Za-z, most significant digit first, left-padded with 0 to
// 6 characters). Keys are minted and checked by the same code, so only fixed vectors tie both to
// the format a client or a secret scanner implements. Each near miss is the key with the checksum
// a plausible misreading of the rule gives, and must be refused.
import assert from "node:assert/strict";
import {
  crc32,
  isWellFormedKey,
  keyChecksum,
  presentedKeyHash,
} from "../../supabase/functions/api-gateway/kit/key.ts";

interface Vector {
  first50: string;
  crc32: number;
  key: string;
  nearMisses: Record<string, string>;
}

const VECTORS: Vector[] = [
  {
    first50: "wbk_0000000000000000000000000000000000000000000000",
    crc32: 0xad046abf,
    key: "wbk_00000000000000000000000000000000000000000000003ARdJX",
    nearMisses: {
      "over the first 49 characters": "wbk_00000000000000000000000000000000000000000000001zEFzw",
      "over the 46 random characters (wbk_ left out)":
        "wbk_00000000000000000000000000000000000000000000000n5t9C",
      "alphabet 0-9a-zA-Z": "wbk_00000000000000000000000000000000000000000000003arDjx",
      "least significant digit first": "wbk_0000000000000000000000000000000000000000000000XJdRA3",
    },
  },
  {
    first50: "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    crc32: 0x62eecdec,
    key: "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1oKQLE",
    nearMisses: {
      "over the first 49 characters": "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz16wwm8",
      "over the 46 random characters (wbk_ left out)":
        "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz4BpV6b",
      "alphabet 0-9a-zA-Z": "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1Okqle",
      "least significant digit first": "wbk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzELQKo1",
    },
  },
  {
    first50: "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3z",
    crc32: 0x89d49aff,
    key: "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3z2WUdyB",
    nearMisses: {
      "over the first 49 characters": "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3z0A3VJd",
      "over the 46 random characters (wbk_ left out)":
        "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3z0I5GMo",
      "alphabet 0-9a-zA-Z": "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3z2wuDYb",
      "least significant digit first": "wbk_Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3Ab3zBydUW2",
    },
  },
  {
    // A CRC32 below 62^5: its checksum needs the padding.
    first50: "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de0",
    crc32: 0x36188c22,
    key: "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de00zQ6bK",
    nearMisses: {
      "over the first 49 characters": "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de00NTNmu",
      "over the 46 random characters (wbk_ left out)":
        "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de03Dyovz",
      "alphabet 0-9a-zA-Z": "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de00Zq6Bk",
      "least significant digit first": "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de0Kb6Qz0",
      "padded on the right": "wbk_4e07408562bedb8b60ce05c1decfe3ad16b72230967de0zQ6bK0",
    },
  },
];

Deno.test("key format: fixed vectors (zlib's CRC32, the docs' base 62) are keys; near misses are not", async (t) => {
  for (const v of VECTORS) {
    await t.step(v.key, async () => {
      assert.equal(v.key.slice(0, 50), v.first50);
      assert.equal(crc32(v.first50), v.crc32, "CRC32 as zlib computes it");
      assert.equal(keyChecksum(v.first50), v.key.slice(50), "base 62, padded to 6");
      assert.ok(isWellFormedKey(v.key), "a well-formed key");
      // Through the check every request's key goes through: hashed, not refused.
      assert.match(await presentedKeyHash(`Bearer ${v.key}`), /^[0-9a-f]{64}$/);
      for (const [misreading, key] of Object.entries(v.nearMisses)) {
        assert.notEqual(key, v.key, misreading);
        assert.ok(!isWellFormedKey(key), `refused: the checksum ${misreading}`);
        assert.throws(() => presentedKeyHash(`Bearer ${key}`), /Malformed API key/, misreading);
      }
    });
  }
});
