;; The header-line scanner of h1/scan.ts: checks and splits the header lines of an HTTP/1.1 head in
;; one pass over its bytes, 16 at a time (WebAssembly SIMD): each line a token, a colon and a field
;; value of HTAB, SP, VCHAR or obs-text, ended by CRLF (RFC 9110 §5.1 and §5.5, as llhttp checks).
;;
;; Memory (fixed, three 64 KiB pages; scan.ts owns the layout):
;;   0..15        tchar rows by a byte's low nibble: bit h set when (h << 4 | low) is a tchar
;;   16..31       1 << h for each high nibble h < 8, 0 for 8..15 (no tchar above 0x7f)
;;   1012..1023   marks: whether a name had an uppercase letter; head()'s start line and blank line
;;   1024..       the line table: per line five i32s: four offsets from `base` (the colon, the
;;                value's start and end, optional whitespace trimmed, and the CR that ends the
;;                line) and the name's class (see $classify)
;;   24576..      known names, lowercase, 32 bytes each (zero-padded), in the parser's order
;;   28672..      known names by length and first letter (`len * 32 + (letter & 31)`): 4 bytes
;;                each, up to four names as index + 1 (0: no more)
;;   65536..      the read buffer (h1/reads.ts), 131072.. the scratch copy of heads read elsewhere
;;
;; scan(p, end, out, base, cap): the lines of bytes [p, end), which end with the CRLF of the last
;; line; returns how many, -1 when a line is not a valid header line, -2 when there are more than
;; `cap`. memory[1012] says whether a name was written with an uppercase letter (1) or none was (0). Every search stops at the final CR at the latest; the 16-byte loads may look at up to 31
;; bytes past it, which scan.ts keeps inside the memory, and which never decide anything.
(module
  (memory (export "memory") 3 3)
  ;; Set by $nameEnd: the name it found has an uppercase letter (nonzero).
  (global $upper (mut i32) (i32.const 0))

  ;; The first byte at or after $p that is not a tchar, or $end or past it when none is before $end.
  ;; $upper says whether a byte before it is in 'A'..'Z'.
  (func $nameEnd (param $p i32) (param $end i32) (result i32)
    (local $v v128) (local $m i32) (local $u i32)
    (global.set $upper (i32.const 0))
    (loop $more
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $end))))
      (local.set $v (v128.load (local.get $p)))
      (local.set $m (i8x16.bitmask
        (i8x16.eq
          (v128.and
            (i8x16.swizzle (v128.load (i32.const 0)) (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
            (i8x16.swizzle (v128.load (i32.const 16)) (i8x16.shr_u (local.get $v) (i32.const 4))))
          (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))
      (local.set $u (i8x16.bitmask
        (i8x16.lt_u
          (i8x16.sub (local.get $v) (v128.const i8x16 65 65 65 65 65 65 65 65 65 65 65 65 65 65 65 65))
          (v128.const i8x16 26 26 26 26 26 26 26 26 26 26 26 26 26 26 26 26))))
      (if (i32.eqz (local.get $m))
        (then
          (global.set $upper (i32.or (global.get $upper) (local.get $u)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $more))))
    ;; only the bytes before the one found count
    (global.set $upper (i32.or (global.get $upper)
      (i32.and (local.get $u) (i32.sub (i32.shl (i32.const 1) (i32.ctz (local.get $m))) (i32.const 1)))))
    (i32.add (local.get $p) (i32.ctz (local.get $m))))

  ;; The first byte at or after $p that is not a field-value character (a CTL other than HTAB, or
  ;; DEL), or $end or past it when none is before $end.
  (func $valueEnd (param $p i32) (param $end i32) (result i32)
    (local $v v128) (local $m i32)
    (loop $more
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $end))))
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

;; A name's class: the index of the known name it is (ASCII case ignored), plus 256 when it is
  ;; not written in lowercase; else -1 for another name without uppercase letters, -2 for another
  ;; with some ($upper, from $nameEnd). A tchar's 0x20 bit set folds uppercase letters only to the
  ;; known names' bytes (lowercase letters, digits and '-'): the other tchars it changes ('^', '_')
  ;; fold to bytes no known name holds.
  (func $classify (param $s i32) (param $len i32) (result i32)
    (local $lo v128) (local $hi v128) (local $slot i32) (local $i i32) (local $k i32) (local $e i32) (local $want i32)
    (if (i32.le_u (local.get $len) (i32.const 32))
      (then
        (local.set $lo (v128.or (v128.load (local.get $s)) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)))
        (local.set $hi (v128.or (v128.load offset=16 (local.get $s)) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)))
        (local.set $want
          (select (i32.const -1) (i32.sub (i32.shl (i32.const 1) (local.get $len)) (i32.const 1)) (i32.eq (local.get $len) (i32.const 32))))
        (local.set $slot
          (i32.add (i32.const 28672)
            (i32.shl (i32.add (i32.shl (local.get $len) (i32.const 5)) (i32.and (i32.load8_u (local.get $s)) (i32.const 31))) (i32.const 2))))
        (block $none
          (loop $candidate
            (br_if $none (i32.eq (local.get $i) (i32.const 4)))
            (local.set $k (i32.load8_u (i32.add (local.get $slot) (local.get $i))))
            (br_if $none (i32.eqz (local.get $k)))
            (local.set $e (i32.add (i32.const 24576) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 5))))
            (if (i32.eq
                  (i32.and (local.get $want)
                    (i32.or
                      (i8x16.bitmask (i8x16.eq (local.get $lo) (v128.load (local.get $e))))
                      (i32.shl (i8x16.bitmask (i8x16.eq (local.get $hi) (v128.load offset=16 (local.get $e)))) (i32.const 16))))
                  (local.get $want))
              (then
                (return (i32.or (i32.sub (local.get $k) (i32.const 1))
                  (select (i32.const 256) (i32.const 0) (global.get $upper))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $candidate)))))
    (select (i32.const -2) (i32.const -1) (global.get $upper)))

  ;; The header lines from $p: a line table at $out (offsets from $base). With $head 0, [p, end)
  ;; holds whole lines and ends with the last one's CRLF: returns how many. With $head 1 the lines
  ;; end at a blank line, whose CR's offset goes to memory[1020]: returns how many, or -3 when
  ;; $end comes first (the head is not all there). Both: -1 for a line that is not a valid header
  ;; line, -2 for more than $cap lines.
  (func $lines (param $p i32) (param $end i32) (param $out i32) (param $base i32) (param $cap i32) (param $head i32) (result i32)
    (local $n i32) (local $s i32) (local $vs i32) (local $ve i32) (local $b i32) (local $k i32) (local $upper i32)
    (i32.store (i32.const 1012) (i32.const 0))
    (loop $line
      (if (i32.ge_u (i32.add (local.get $p) (local.get $head)) (local.get $end))
        (then (return (select (i32.const -3) (local.get $n) (local.get $head)))))
      (if (local.get $head)
        (then
          (if (i32.eq (i32.load16_u (local.get $p)) (i32.const 2573)) ;; CR LF: the blank line
            (then
              (i32.store (i32.const 1020) (i32.sub (local.get $p) (local.get $base)))
              (return (local.get $n))))))
      (if (i32.eq (local.get $n) (local.get $cap)) (then (return (i32.const -2))))
      ;; the name: one or more tchars, then the colon
      (local.set $s (local.get $p))
      (local.set $p (call $nameEnd (local.get $p) (local.get $end)))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -3))))
      (if (i32.or (i32.eq (local.get $p) (local.get $s)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 58)))
        (then (return (i32.const -1))))
      (i32.store (local.get $out) (i32.sub (local.get $p) (local.get $base)))
      (local.set $k (call $classify (local.get $s) (i32.sub (local.get $p) (local.get $s))))
      (i32.store offset=16 (local.get $out) (local.get $k))
      ;; memory[1012]: 1 once a name has an uppercase letter
      (if (i32.or (i32.gt_s (local.get $k) (i32.const 255)) (i32.eq (local.get $k) (i32.const -2)))
        (then (i32.store (i32.const 1012) (i32.const 1))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      ;; leading whitespace
      (block $wsEnd
        (loop $ws
          (br_if $wsEnd (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $b (i32.load8_u (local.get $p)))
          (br_if $wsEnd (i32.and (i32.ne (local.get $b) (i32.const 32)) (i32.ne (local.get $b) (i32.const 9))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $ws)))
      (local.set $vs (local.get $p))
      ;; the value, up to the CR that must end it (and its LF)
      (local.set $p (call $valueEnd (local.get $p) (local.get $end)))
      (if (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $end)) (then (return (i32.const -3))))
      (if (i32.ne (i32.load16_u (local.get $p)) (i32.const 2573))
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
      (local.set $out (i32.add (local.get $out) (i32.const 20)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $p (i32.add (local.get $p) (i32.const 2)))
      (br $line))
    (unreachable))

  ;; scan(p, end, out, base, cap): see the top of this file.
  (func (export "scan") (param $p i32) (param $end i32) (param $out i32) (param $base i32) (param $cap i32) (result i32)
    (call $lines (local.get $p) (local.get $end) (local.get $out) (local.get $base) (local.get $cap) (i32.const 0)))

  ;; head(p, end, out, base, cap): a whole head from its start line at $p, read up to $end: the
  ;; start line's CR (it must be followed by LF) goes to memory[1016] and the blank line's CR to
  ;; memory[1020], as offsets from $base; the header lines as scan() leaves them. Returns how many
  ;; lines, -3 when the head does not end before $end, -1 when something in it is not valid (the
  ;; start line is the parser's to check), -2 for more than $cap lines.
  (func (export "head") (param $p i32) (param $end i32) (param $out i32) (param $base i32) (param $cap i32) (result i32)
    (local $v v128) (local $m i32) (local $q i32)
    (local.set $q (local.get $p))
    ;; the start line ends at its first CR or LF
    (block $found
      (loop $more
        (if (i32.ge_u (local.get $q) (local.get $end)) (then (return (i32.const -3))))
        (local.set $v (v128.load (local.get $q)))
        (local.set $m (i8x16.bitmask
          (v128.or
            (i8x16.eq (local.get $v) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13))
            (i8x16.eq (local.get $v) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10)))))
        (br_if $found (local.get $m))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $more)))
    (local.set $q (i32.add (local.get $q) (i32.ctz (local.get $m))))
    (if (i32.ge_u (i32.add (local.get $q) (i32.const 1)) (local.get $end)) (then (return (i32.const -3))))
    (if (i32.ne (i32.load16_u (local.get $q)) (i32.const 2573)) (then (return (i32.const -1))))
    (i32.store (i32.const 1016) (i32.sub (local.get $q) (local.get $base)))
    (call $lines (i32.add (local.get $q) (i32.const 2)) (local.get $end) (local.get $out) (local.get $base) (local.get $cap) (i32.const 1))))
