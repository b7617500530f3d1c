;; The header-line scanner of h1/scan.ts: checks and splits the header lines of an HTTP/1.1 head in
;; one pass over its bytes, 16 at a time (WebAssembly SIMD): each line a token, a colon and a field
;; value of HTAB, SP, VCHAR or obs-text, ended by CRLF (RFC 9110 §5.1 and §5.5, as llhttp checks).
;;
;; Memory (fixed, three 64 KiB pages; scan.ts owns the layout):
;;   0..15        tchar rows by a byte's low nibble: bit h set when (h << 4 | low) is a tchar
;;   16..31       1 << h for each high nibble h < 8, 0 for 8..15 (no tchar above 0x7f)
;;   1024..       the line table: per line four i32s, each an offset from `base`: the colon, the
;;                value's start and end (optional whitespace trimmed), the CR that ends the line
;;   65536..      the read buffer (h1/reads.ts), 131072.. the scratch copy of heads read elsewhere
;;
;; scan(p, end, out, base, cap): the lines of bytes [p, end), which end with the CRLF of the last
;; line; returns how many, -1 when a line is not a valid header line, -2 when there are more than
;; `cap`. Every search stops at the final CR at the latest; the 16-byte loads may look at up to 15
;; bytes past it, which scan.ts keeps inside the memory, and which never decide anything.
(module
  (memory (export "memory") 3 3)

  ;; The first byte at or after $p that is not a tchar.
  (func $nameEnd (param $p i32) (result i32)
    (local $v v128) (local $m i32)
    (loop $more
      (local.set $v (v128.load (local.get $p)))
      (local.set $m (i8x16.bitmask
        (i8x16.eq
          (v128.and
            (i8x16.swizzle (v128.load (i32.const 0)) (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
            (i8x16.swizzle (v128.load (i32.const 16)) (i8x16.shr_u (local.get $v) (i32.const 4))))
          (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))
      (if (i32.eqz (local.get $m))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $more))))
    (i32.add (local.get $p) (i32.ctz (local.get $m))))

  ;; The first byte at or after $p that is not a field-value character (a CTL other than HTAB, or DEL).
  (func $valueEnd (param $p i32) (result i32)
    (local $v v128) (local $m i32)
    (loop $more
      (local.set $v (v128.load (local.get $p)))
      (local.set $m (i8x16.bitmask
        (v128.or
          (v128.andnot
            (i8x16.lt_u (local.get $v) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))
            (i8x16.eq (local.get $v) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))
          (i8x16.eq (local.get $v) (v128.const i8x16 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127)))))
      (if (i32.eqz (local.get $m))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $more))))
    (i32.add (local.get $p) (i32.ctz (local.get $m))))

  (func (export "scan") (param $p i32) (param $end i32) (param $out i32) (param $base i32) (param $cap i32) (result i32)
    (local $n i32) (local $s i32) (local $vs i32) (local $ve i32) (local $b i32)
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (local.get $n) (local.get $cap)) (then (return (i32.const -2))))
        ;; the name: one or more tchars, then the colon
        (local.set $s (local.get $p))
        (local.set $p (call $nameEnd (local.get $p)))
        (if (i32.or (i32.eq (local.get $p) (local.get $s)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)))
          (then (return (i32.const -1))))
        (i32.store (local.get $out) (i32.sub (local.get $p) (local.get $base)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        ;; leading whitespace
        (block $wsEnd
          (loop $ws
            (local.set $b (i32.load8_u (local.get $p)))
            (br_if $wsEnd (i32.and (i32.ne (local.get $b) (i32.const 32)) (i32.ne (local.get $b) (i32.const 9))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ws)))
        (local.set $vs (local.get $p))
        ;; the value, up to the CR that must end it
        (local.set $p (call $valueEnd (local.get $p)))
        (if (i32.ne (i32.load16_u (local.get $p)) (i32.const 2573)) ;; CR LF
          (then (return (i32.const -1))))
        ;; trailing whitespace
        (local.set $ve (local.get $p))
        (block $trimEnd
          (loop $trim
            (br_if $trimEnd (i32.le_u (local.get $ve) (local.get $vs)))
            (local.set $b (i32.load8_u (i32.sub (local.get $ve) (i32.const 1))))
            (br_if $trimEnd (i32.and (i32.ne (local.get $b) (i32.const 32)) (i32.ne (local.get $b) (i32.const 9))))
            (local.set $ve (i32.sub (local.get $ve) (i32.const 1)))
            (br $trim)))
        (i32.store offset=4 (local.get $out) (i32.sub (local.get $vs) (local.get $base)))
        (i32.store offset=8 (local.get $out) (i32.sub (local.get $ve) (local.get $base)))
        (i32.store offset=12 (local.get $out) (i32.sub (local.get $p) (local.get $base)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br $line)))
    (local.get $n)))
