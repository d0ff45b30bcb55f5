import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * A tiny ONNX model whose weights live in an external data file beside it, as onnx writes large
 * initializers: y = x · w, x float32 [batch, n], w float32 [n] stored in `dataFile`.
 */
export function externalDataModel(weights: number[], dataFile: string): { model: Buffer; data: Buffer } {
  const data = Buffer.from(new Float32Array(weights).buffer);
  const dims = (d: (number | string)[]) => ({ dim: d.map((x) => (typeof x === 'number' ? { dimValue: x } : { dimParam: x })) });
  const bytes = onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'taxi-ride-duration registry tests',
    graph: {
      name: 'external',
      node: [{ opType: 'Mul', input: ['x', 'w'], output: ['y'], name: 'mul' }],
      initializer: [
        {
          name: 'w',
          dataType: FLOAT,
          dims: [weights.length],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: dataFile },
            { key: 'offset', value: '0' },
            { key: 'length', value: String(data.length) },
          ],
        },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: dims(['batch', weights.length]) } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: dims(['batch', weights.length]) } } }],
    },
  }).finish();
  return { model: Buffer.from(bytes), data };
}
