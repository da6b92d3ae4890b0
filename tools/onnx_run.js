// Runs an ONNX model exported by `vkcnn export` in onnxruntime (npm's
// onnxruntime-node, CPU) on images from a raw file and writes the logits:
//
//   node tools/onnx_run.js model.onnx images.f32 N logits.f32
//
// images.f32 holds N images [3,32,32] (the model's input size) as
// little-endian float32 pixels in [0,1]; logits.f32 receives N×classes
// little-endian float32 values. The batch is run whole, then again in two
// parts of other sizes, which must agree, so the batch dimension is checked
// to be dynamic. One JSON line on stdout describes the session.
'use strict';
const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
} catch (e) {
  console.error(`onnx_run.js: onnxruntime-node is not installed in tools/node_modules (cd tools && ONNXRUNTIME_NODE_INSTALL=skip npm ci): ${e.message}`);
  process.exit(2);
}

function floats(file) {
  const b = fs.readFileSync(file);
  // Copy into an aligned buffer: a Buffer may start at any byte offset.
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

async function main() {
  const [modelPath, imagesPath, nArg, outPath] = process.argv.slice(2);
  if (!outPath) {
    throw new Error('usage: node tools/onnx_run.js model.onnx images.f32 N logits.f32');
  }
  const n = Number(nArg);
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata[0] : undefined;
  const shape = meta && meta.shape ? meta.shape.slice(1).map(Number) : [3, 32, 32];
  const per = shape.reduce((a, b) => a * b, 1);
  const pixels = floats(imagesPath);
  if (pixels.length !== n * per) {
    throw new Error(`${imagesPath}: ${pixels.length} values for ${n} images of ${shape.join('x')}`);
  }
  const run = async (lo, hi) => {
    const x = new ort.Tensor('float32', pixels.subarray(lo * per, hi * per), [hi - lo, ...shape]);
    const res = await session.run({ [inName]: x });
    return res[outName];
  };
  const whole = await run(0, n);
  // The same images as a batch of 1 and a batch of n-1: any batch size works.
  const split = Math.min(1, n - 1);
  const parts = n > 1 ? [await run(0, split), await run(split, n)] : [];
  let maxPartDiff = 0;
  if (parts.length) {
    const joined = new Float32Array(whole.data.length);
    joined.set(parts[0].data, 0);
    joined.set(parts[1].data, parts[0].data.length);
    for (let i = 0; i < joined.length; i++) {
      maxPartDiff = Math.max(maxPartDiff, Math.abs(joined[i] - whole.data[i]));
    }
  }
  fs.writeFileSync(outPath, Buffer.from(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength));
  console.log(JSON.stringify({
    input: inName,
    output: outName,
    input_shape: meta && meta.shape ? meta.shape : null,
    output_dims: whole.dims,
    batch_sizes: parts.length ? [n, parts[0].dims[0], parts[1].dims[0]] : [n],
    max_split_diff: maxPartDiff,
  }));
}

main().catch((e) => {
  console.error(`onnx_run.js: ${e.message}`);
  process.exit(1);
});
