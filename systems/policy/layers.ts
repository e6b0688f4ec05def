// A tensor layer of the neural policy with a hand-written gradient (the wasm backend's own
// matMul gradient is slow; see denseLayer).
import type * as tfn from "@tensorflow/tfjs";
import type { TF } from "../../engine/tensor.ts";

/**
 * `relu?(x·W + b)` with its own gradient: dW = transpose(x)·dz and dx = dz·transpose(W) with
 * explicit transposes. TensorFlow.js's matMul gradient multiplies with transposeA/transposeB,
 * which the wasm backend (4.22) runs 8-20x slower than a plain product of a transposed copy
 * (153 ms against 18 ms for 565x512 by 512x128 on this machine); that was most of a training
 * step. `needDx` false returns zeros for x (the observation rows).
 */
export function denseLayer(tf: TF, x: tfn.Tensor2D, w: tfn.Tensor2D, b: tfn.Tensor1D, relu: boolean, needDx: boolean): tfn.Tensor2D {
  const f = tf.customGrad(((xi: tfn.Tensor, wi: tfn.Tensor, bi: tfn.Tensor, save: (t: tfn.Tensor[]) => void) => {
    const y = tf.fused.matMul({ a: xi as tfn.Tensor2D, b: wi as tfn.Tensor2D, bias: bi, activation: relu ? "relu" : "linear" });
    save([xi, wi, y]);
    return {
      value: y,
      gradFunc: (dy: tfn.Tensor, saved: tfn.Tensor[]) => {
        const [sx, sw, sy] = saved as [tfn.Tensor2D, tfn.Tensor2D, tfn.Tensor2D];
        const dz = (relu ? tf.mul(dy, tf.step(sy)) : dy) as tfn.Tensor2D;
        const dw = tf.matMul(tf.transpose(sx), dz);
        const db = tf.sum(dz, 0);
        const dx = needDx ? tf.matMul(dz, tf.transpose(sw)) : tf.zerosLike(sx);
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<TF["customGrad"]>[0]);
  return f(x, w, b) as tfn.Tensor2D;
}
