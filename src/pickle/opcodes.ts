/**
 * Pickle opcode bytes, protocols 0-5, as named in CPython's `pickletools` (Lib/pickletools.py).
 * The decoder switches on these; `OPCODE_NAMES` turns a byte back into a name for error messages.
 */
export const INT = 0x49; // I
export const BININT = 0x4a; // J
export const BININT1 = 0x4b; // K
export const BININT2 = 0x4d; // M
export const LONG = 0x4c; // L
export const LONG1 = 0x8a;
export const LONG4 = 0x8b;
export const STRING = 0x53; // S
export const BINSTRING = 0x54; // T
export const SHORT_BINSTRING = 0x55; // U
export const BINBYTES = 0x42; // B
export const SHORT_BINBYTES = 0x43; // C
export const BINBYTES8 = 0x8e;
export const BYTEARRAY8 = 0x96;
export const NEXT_BUFFER = 0x97;
export const READONLY_BUFFER = 0x98;
export const NONE = 0x4e; // N
export const NEWTRUE = 0x88;
export const NEWFALSE = 0x89;
export const UNICODE = 0x56; // V
export const SHORT_BINUNICODE = 0x8c;
export const BINUNICODE = 0x58; // X
export const BINUNICODE8 = 0x8d;
export const FLOAT = 0x46; // F
export const BINFLOAT = 0x47; // G
export const EMPTY_LIST = 0x5d; // ]
export const APPEND = 0x61; // a
export const APPENDS = 0x65; // e
export const LIST = 0x6c; // l
export const EMPTY_TUPLE = 0x29; // )
export const TUPLE = 0x74; // t
export const TUPLE1 = 0x85;
export const TUPLE2 = 0x86;
export const TUPLE3 = 0x87;
export const EMPTY_DICT = 0x7d; // }
export const DICT = 0x64; // d
export const SETITEM = 0x73; // s
export const SETITEMS = 0x75; // u
export const EMPTY_SET = 0x8f;
export const ADDITEMS = 0x90;
export const FROZENSET = 0x91;
export const POP = 0x30; // 0
export const DUP = 0x32; // 2
export const MARK = 0x28; // (
export const POP_MARK = 0x31; // 1
export const GET = 0x67; // g
export const BINGET = 0x68; // h
export const LONG_BINGET = 0x6a; // j
export const PUT = 0x70; // p
export const BINPUT = 0x71; // q
export const LONG_BINPUT = 0x72; // r
export const MEMOIZE = 0x94;
export const EXT1 = 0x82;
export const EXT2 = 0x83;
export const EXT4 = 0x84;
export const GLOBAL = 0x63; // c
export const STACK_GLOBAL = 0x93;
export const REDUCE = 0x52; // R
export const BUILD = 0x62; // b
export const INST = 0x69; // i
export const OBJ = 0x6f; // o
export const NEWOBJ = 0x81;
export const NEWOBJ_EX = 0x92;
export const PROTO = 0x80;
export const STOP = 0x2e; // .
export const FRAME = 0x95;
export const PERSID = 0x50; // P
export const BINPERSID = 0x51; // Q

/** Name of every opcode byte CPython knows (EXT1/2/4 included: they are known, just refused). */
export const OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [INT, 'INT'],
  [BININT, 'BININT'],
  [BININT1, 'BININT1'],
  [BININT2, 'BININT2'],
  [LONG, 'LONG'],
  [LONG1, 'LONG1'],
  [LONG4, 'LONG4'],
  [STRING, 'STRING'],
  [BINSTRING, 'BINSTRING'],
  [SHORT_BINSTRING, 'SHORT_BINSTRING'],
  [BINBYTES, 'BINBYTES'],
  [SHORT_BINBYTES, 'SHORT_BINBYTES'],
  [BINBYTES8, 'BINBYTES8'],
  [BYTEARRAY8, 'BYTEARRAY8'],
  [NEXT_BUFFER, 'NEXT_BUFFER'],
  [READONLY_BUFFER, 'READONLY_BUFFER'],
  [NONE, 'NONE'],
  [NEWTRUE, 'NEWTRUE'],
  [NEWFALSE, 'NEWFALSE'],
  [UNICODE, 'UNICODE'],
  [SHORT_BINUNICODE, 'SHORT_BINUNICODE'],
  [BINUNICODE, 'BINUNICODE'],
  [BINUNICODE8, 'BINUNICODE8'],
  [FLOAT, 'FLOAT'],
  [BINFLOAT, 'BINFLOAT'],
  [EMPTY_LIST, 'EMPTY_LIST'],
  [APPEND, 'APPEND'],
  [APPENDS, 'APPENDS'],
  [LIST, 'LIST'],
  [EMPTY_TUPLE, 'EMPTY_TUPLE'],
  [TUPLE, 'TUPLE'],
  [TUPLE1, 'TUPLE1'],
  [TUPLE2, 'TUPLE2'],
  [TUPLE3, 'TUPLE3'],
  [EMPTY_DICT, 'EMPTY_DICT'],
  [DICT, 'DICT'],
  [SETITEM, 'SETITEM'],
  [SETITEMS, 'SETITEMS'],
  [EMPTY_SET, 'EMPTY_SET'],
  [ADDITEMS, 'ADDITEMS'],
  [FROZENSET, 'FROZENSET'],
  [POP, 'POP'],
  [DUP, 'DUP'],
  [MARK, 'MARK'],
  [POP_MARK, 'POP_MARK'],
  [GET, 'GET'],
  [BINGET, 'BINGET'],
  [LONG_BINGET, 'LONG_BINGET'],
  [PUT, 'PUT'],
  [BINPUT, 'BINPUT'],
  [LONG_BINPUT, 'LONG_BINPUT'],
  [MEMOIZE, 'MEMOIZE'],
  [EXT1, 'EXT1'],
  [EXT2, 'EXT2'],
  [EXT4, 'EXT4'],
  [GLOBAL, 'GLOBAL'],
  [STACK_GLOBAL, 'STACK_GLOBAL'],
  [REDUCE, 'REDUCE'],
  [BUILD, 'BUILD'],
  [INST, 'INST'],
  [OBJ, 'OBJ'],
  [NEWOBJ, 'NEWOBJ'],
  [NEWOBJ_EX, 'NEWOBJ_EX'],
  [PROTO, 'PROTO'],
  [STOP, 'STOP'],
  [FRAME, 'FRAME'],
  [PERSID, 'PERSID'],
  [BINPERSID, 'BINPERSID'],
]);
