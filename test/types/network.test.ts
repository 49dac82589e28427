/**
 * inet, cidr, macaddr, macaddr8 and the remaining types (bit, varbit, pg_lsn, tid, oidvector,
 * int2vector, reg*, text-only): the binary forms decode to exactly the server's text (IPv6 zero
 * runs and embedded IPv4 as PostgreSQL prints them) and canonical text encodes back.
 */
import { describe, expect, it } from "vitest"
import {
  bit,
  box,
  cidr,
  defaultRegistry,
  formatFloat8,
  inet,
  int2vector,
  macaddr,
  macaddr8,
  oidvector,
  path,
  pgLsn,
  point,
  polygon,
  tid,
  varbit
} from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

describe("inet and cidr", () => {
  it.each([
    [inet, "192.168.0.1", "02 20 00 04 c0a80001"],
    [inet, "192.168.0.1/24", "02 18 00 04 c0a80001"],
    [cidr, "10.0.0.0/8", "02 08 01 04 0a000000"],
    [cidr, "192.168.1.1/32", "02 20 01 04 c0a80101"],
    [inet, "::", "03 80 00 10 00000000000000000000000000000000"],
    [inet, "::1", "03 80 00 10 00000000000000000000000000000001"],
    [inet, "::2", "03 80 00 10 00000000000000000000000000000002"],
    [inet, "::ffff:1.2.3.4", "03 80 00 10 00000000000000000000ffff01020304"],
    [inet, "::1.2.3.4", "03 80 00 10 00000000000000000000000001020304"],
    [inet, "1:0:0:1::1", "03 80 00 10 00010000000000010000000000000001"],
    [inet, "1::1:0:0:1", "03 80 00 10 00010000000000000001000000000001"],
    [inet, "2001:db8::1/64", "03 40 00 10 20010db8000000000000000000000001"],
    [inet, "1:2:3:4:5:6:7:8", "03 80 00 10 00010002000300040005000600070008"],
    [inet, "1:0:2:3:4:5:6:7", "03 80 00 10 00010000000200030004000500060007"],
    [cidr, "2001:db8::/32", "03 20 01 10 20010db8000000000000000000000000"],
    [cidr, "::/0", "03 00 01 10 00000000000000000000000000000000"],
    [cidr, "::1/128", "03 80 01 10 00000000000000000000000000000001"]
  ])("%s %s", (codec, text, bytes) => {
    expect(fromBin(codec, hex(bytes))).toBe(text)
    expect(toHex(bin(codec, text))).toBe(bytes.replace(/ /g, ""))
    roundTrips(codec, text)
  })

  it("refuses what is not an address", () => {
    for (const bad of [
      "1.2.3",
      "1.2.3.256",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "10/8",
      "1.2.3.4/33",
      "::/129",
      "x"
    ])
      expect(thrown(() => bin(inet, bad)).reason).toBe("NotEncodable")
    expect(thrown(() => fromBin(inet, hex("04 20 00 04 c0a80001"))).reason).toBe("Malformed")
  })
})

describe("macaddr", () => {
  it("prints lowercase with colons and reads the common separators", () => {
    expect(fromBin(macaddr, hex("08002b010203"))).toBe("08:00:2b:01:02:03")
    for (const form of ["08:00:2B:01:02:03", "08-00-2b-01-02-03", "0800.2b01.0203", "08002b010203"])
      expect(toHex(bin(macaddr, form))).toBe("08002b010203")
    expect(fromBin(macaddr8, hex("08002b0102030405"))).toBe("08:00:2b:01:02:03:04:05")
    expect(toHex(bin(macaddr8, "08:00:2b:01:02:03"))).toBe("08002bfffe010203")
    expect(thrown(() => bin(macaddr, "08:00:2b:01:02")).reason).toBe("NotEncodable")
    expect(thrown(() => fromBin(macaddr, hex("0800"))).reason).toBe("Malformed")
  })
})

describe("the rest", () => {
  it("bit and varbit", () => {
    expect(toHex(bin(varbit, "10110011101"))).toBe("0000000bb3a0")
    expect(fromBin(varbit, hex("0000000bb3a0"))).toBe("10110011101")
    expect(fromBin(bit, hex("00000000"))).toBe("")
    roundTrips(bit, "1".repeat(17))
    expect(thrown(() => bin(bit, "102")).reason).toBe("NotEncodable")
    expect(thrown(() => fromBin(bit, hex("0000000b b3"))).reason).toBe("Malformed")
  })

  it("pg_lsn and tid", () => {
    expect(fromBin(pgLsn, hex("00000016b374d848"))).toBe("16/B374D848")
    expect(toHex(bin(pgLsn, "16/b374d848"))).toBe("00000016b374d848")
    expect(fromBin(tid, hex("ffffffff ffff"))).toBe("(4294967295,65535)")
    expect(toHex(bin(tid, "(0,1)"))).toBe("000000000001")
    expect(thrown(() => bin(pgLsn, "16-B3")).reason).toBe("NotEncodable")
    expect(thrown(() => bin(tid, "(0,70000)")).reason).toBe("NotEncodable")
  })

  it("oidvector and int2vector: space-separated text, 0-based arrays in binary", () => {
    expect(oidvector.text.decode("1 2 3")).toStrictEqual([1, 2, 3])
    expect(oidvector.text.decode("")).toStrictEqual([])
    expect(int2vector.text.encode([1, -2])).toBe("1 -2")
    expect(toHex(bin(int2vector, [1, -2]))).toBe(
      "00000001 00000000 00000015 00000002 00000000 00000002 0001 00000002 fffe".replace(/ /g, "")
    )
    roundTrips(oidvector, [4294967295, 0])
    expect(fromBin(oidvector, hex("00000000 00000000 0000001a"))).toStrictEqual([])
    expect(thrown(() => bin(oidvector, [])).message).toContain("as text only")
    expect(thrown(() => bin(int2vector, [40000])).reason).toBe("NotEncodable")
  })

  it("reg* types are their names in text, OIDs as digits, no binary", () => {
    const regclass = defaultRegistry.named("regclass")!
    expect(regclass.binary).toBeUndefined()
    expect(regclass.text.decode("pg_class")).toBe("pg_class")
    expect(regclass.text.encode(1259)).toBe("1259")
    expect(thrown(() => regclass.text.encode(-1 as never)).reason).toBe("NotEncodable")
  })

  it("text-only types pass the server's text through", () => {
    const tsvector = defaultRegistry.named("tsvector")!
    expect(tsvector.binary).toBeUndefined()
    expect(tsvector.text.decode("'a' 'cat'")).toBe("'a' 'cat'")
    expect(thrown(() => tsvector.text.encode(1 as never)).reason).toBe("NotEncodable")
  })

  it("geometric types print their binary form as the server prints its text", () => {
    expect(fromBin(point, hex("3ff8000000000000 c000000000000000"))).toBe("(1.5,-2)")
    expect(toHex(bin(point, "(1.5,-2)"))).toBe("3ff8000000000000c000000000000000")
    expect(fromBin(box, bin(box, "(1,1),(0,0)"))).toBe("(1,1),(0,0)")
    expect(box.delimiter).toBe(";")
    expect(toHex(bin(path, "[(0,0),(1,1)]")).slice(0, 10)).toBe("0000000002")
    expect(toHex(bin(path, "((0,0),(1,1))")).slice(0, 10)).toBe("0100000002")
    roundTrips(path, "((0,0),(1,1))")
    roundTrips(polygon, "((0,0),(1,1),(1,0))")
    expect(thrown(() => bin(point, "(1)")).reason).toBe("NotEncodable")
    expect(thrown(() => fromBin(polygon, hex("00000002"))).reason).toBe("Malformed")
  })

  it("float8out's spelling", () => {
    for (const [x, text] of [
      [0.0001, "0.0001"],
      [1e-5, "1e-05"],
      [1e14, "100000000000000"],
      [1e15, "1e+15"],
      [-1.5e100, "-1.5e+100"],
      [123.456, "123.456"],
      [-0, "-0"],
      [5e-324, "5e-324"],
      [Number.NaN, "NaN"]
    ] as const)
      expect(formatFloat8(x)).toBe(text)
  })
})
