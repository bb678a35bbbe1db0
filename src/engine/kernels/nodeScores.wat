;; The per-node scores of a batch of activation maps in one pass, reading the maps where the wasm backend
;; keeps them (this module imports the backend's memory; build: esbuild.mjs assembles it twice, for the
;; backend's plain memory and, with MEMORY replaced by a shared declaration, for its threaded build).
;;
;; scores(x, b, hw, n, out, N, col): x is float32 [b, hw, n] (a batch of NHWC maps, hw = height × width).
;; out holds four [b, N] arrays one after the other (N ≥ col + n: every scanned node of the model); for
;; each image r and node i this writes, at row r, column col + i: the Frobenius norm of the map (the
;; square root of the sum of squares; the absolute value when hw = 1), its maximum, its mean (float32),
;; and the position of its first maximum (int32, 0 when no value exceeds -Infinity). A NaN makes the norm
;; and the mean NaN (the scan's heaps then skip them); the maximum and its position skip NaNs, except when
;; hw = 1, where all three scores are the value itself. Four nodes at a time with 128-bit SIMD; a scalar
;; loop for the last n mod 4.
(module
  (import "env" "memory" MEMORY)

  (func (export "scores") (param $x i32) (param $b i32) (param $hw i32) (param $n i32) (param $out i32) (param $N i32) (param $col i32)
    (local $bn4 i32) (local $inv v128) (local $finv f32) (local $stride i32) (local $n4 i32) (local $r i32) (local $j i32) (local $p i32)
    (local $row i32) (local $ptr i32) (local $o i32)
    (local $s v128) (local $q v128) (local $m v128) (local $a v128) (local $pv v128) (local $v v128) (local $gt v128)
    (local $fs f32) (local $fq f32) (local $fm f32) (local $ia i32) (local $fv f32)
    (local.set $bn4 (i32.shl (i32.mul (local.get $b) (local.get $N)) (i32.const 2)))
    (local.set $finv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $hw))))
    (local.set $inv (f32x4.splat (local.get $finv)))
    (local.set $stride (i32.shl (local.get $n) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $r (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $b)))
        (local.set $row (i32.add (local.get $x) (i32.mul (i32.mul (local.get $r) (local.get $hw)) (local.get $stride))))
        ;; Four nodes at a time.
        (local.set $j (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $j) (local.get $n4)))
            (local.set $s (v128.const f32x4 0 0 0 0))
            (local.set $q (v128.const f32x4 0 0 0 0))
            (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $a (v128.const i32x4 0 0 0 0))
            (local.set $pv (v128.const i32x4 0 0 0 0))
            (local.set $ptr (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $px_done
              (loop $px
                (br_if $px_done (i32.ge_u (local.get $p) (local.get $hw)))
                (local.set $v (v128.load align=4 (local.get $ptr)))
                (local.set $s (f32x4.add (local.get $s) (local.get $v)))
                (local.set $q (f32x4.add (local.get $q) (f32x4.mul (local.get $v) (local.get $v))))
                (local.set $gt (f32x4.gt (local.get $v) (local.get $m)))
                (local.set $m (v128.bitselect (local.get $v) (local.get $m) (local.get $gt)))
                (local.set $a (v128.bitselect (local.get $pv) (local.get $a) (local.get $gt)))
                (local.set $pv (i32x4.add (local.get $pv) (v128.const i32x4 1 1 1 1)))
                (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $px)))
            (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $N)) (i32.add (local.get $col) (local.get $j))) (i32.const 2))))
            ;; One position: every score is the value itself (exact, and NaN stays NaN).
            (if (i32.eq (local.get $hw) (i32.const 1))
              (then
                (local.set $q (f32x4.abs (local.get $s)))
                (local.set $m (local.get $s)))
              (else (local.set $q (f32x4.sqrt (local.get $q)))))
            (v128.store align=4 (local.get $o) (local.get $q))
            (v128.store align=4 (i32.add (local.get $o) (local.get $bn4)) (local.get $m))
            (v128.store align=4 (i32.add (local.get $o) (i32.shl (local.get $bn4) (i32.const 1))) (f32x4.mul (local.get $s) (local.get $inv)))
            (v128.store align=4 (i32.add (local.get $o) (i32.mul (local.get $bn4) (i32.const 3))) (local.get $a))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        ;; The last n mod 4 nodes, one at a time.
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $fs (f32.const 0))
            (local.set $fq (f32.const 0))
            (local.set $fm (f32.const -inf))
            (local.set $ia (i32.const 0))
            (local.set $ptr (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $tpx_done
              (loop $tpx
                (br_if $tpx_done (i32.ge_u (local.get $p) (local.get $hw)))
                (local.set $fv (f32.load align=4 (local.get $ptr)))
                (local.set $fs (f32.add (local.get $fs) (local.get $fv)))
                (local.set $fq (f32.add (local.get $fq) (f32.mul (local.get $fv) (local.get $fv))))
                (if (f32.gt (local.get $fv) (local.get $fm))
                  (then
                    (local.set $fm (local.get $fv))
                    (local.set $ia (local.get $p))))
                (local.set $ptr (i32.add (local.get $ptr) (local.get $stride)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $tpx)))
            (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $N)) (i32.add (local.get $col) (local.get $j))) (i32.const 2))))
            (if (i32.eq (local.get $hw) (i32.const 1))
              (then
                (local.set $fq (f32.abs (local.get $fs)))
                (local.set $fm (local.get $fs)))
              (else (local.set $fq (f32.sqrt (local.get $fq)))))
            (f32.store align=4 (local.get $o) (local.get $fq))
            (f32.store align=4 (i32.add (local.get $o) (local.get $bn4)) (local.get $fm))
            (f32.store align=4 (i32.add (local.get $o) (i32.shl (local.get $bn4) (i32.const 1))) (f32.mul (local.get $fs) (local.get $finv)))
            (i32.store align=4 (i32.add (local.get $o) (i32.mul (local.get $bn4) (i32.const 3))) (local.get $ia))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))))
