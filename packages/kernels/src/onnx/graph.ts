// A small in-memory ONNX graph builder over the published protobuf definitions (`onnx-proto`, generated from
// onnx/onnx v1.10.2's onnx.proto by protobufjs). Nodes get unique output names; `toBytes()` serialises a
// ModelProto that onnxruntime can load with InferenceSession.create(bytes). No hand-written bytes anywhere.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

/** Element types the graphs use, spelled as onnxruntime-common spells tensor types. */
export type OnnxElementType = 'float32' | 'float16' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

const DATA_TYPE: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The ONNX opset of the default domain the graphs are written against (Reduce* take axes as an input). */
export const ONNX_OPSET = 18;
/** IR version 8 pairs with opset 18 (onnx/onnx docs/Versioning.md); the proto package is at IR 8. */
const IR_VERSION = 8;

export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] };

/** A graph input or output as a caller must feed or read it. */
export interface OnnxValueSpec {
  name: string;
  type: OnnxElementType;
  /** Fixed dims, or a string for a symbolic (dynamic) dim. */
  dims: (number | string)[];
}

function attribute(name: string, value: AttributeValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value });
    return onnx.AttributeProto.create({ name, type: T.INT, i: value });
  }
  if (typeof value === 'string')
    return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.float });
  return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: value.floats });
}

function valueInfo(spec: OnnxValueSpec): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name: spec.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[spec.type],
        shape: {
          dim: spec.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  });
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: OnnxValueSpec[] = [];
  private readonly outputs: OnnxValueSpec[] = [];
  private readonly domains = new Map<string, number>([['', ONNX_OPSET]]);
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: OnnxElementType, dims: (number | string)[]): string {
    this.inputs.push({ name, type, dims });
    return name;
  }

  output(name: string, type: OnnxElementType, dims: (number | string)[]): void {
    this.outputs.push({ name, type, dims });
  }

  /** Adds a node; returns the names of its outputs (one unless `outputs` says more). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    options: { outputs?: number; domain?: string; domainVersion?: number; names?: string[] } = {},
  ): string[] {
    const count = options.names?.length ?? options.outputs ?? 1;
    const id = this.counter++;
    const outputs =
      options.names ?? Array.from({ length: count }, (_, i) => `${opType.toLowerCase()}_${id}_${i}`);
    if (options.domain) this.domains.set(options.domain, options.domainVersion ?? 1);
    this.nodes.push(
      onnx.NodeProto.create({
        name: `${opType}_${id}`,
        opType,
        domain: options.domain ?? '',
        input: inputs,
        output: outputs,
        attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs;
  }

  /** A one-output node (the common case). */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** A constant tensor (stored as an initializer). */
  constant(type: 'float32' | 'int64', dims: number[], values: readonly number[]): string {
    const name = `const_${this.counter++}`;
    const tensor = onnx.TensorProto.create({ name, dims, dataType: DATA_TYPE[type] });
    if (type === 'float32') tensor.floatData = [...values];
    else tensor.int64Data = [...values];
    this.initializers.push(tensor);
    return name;
  }

  scalar(value: number): string {
    return this.constant('float32', [], [value]);
  }

  ints(values: readonly number[]): string {
    return this.constant('int64', [values.length], values);
  }

  inputSpecs(): OnnxValueSpec[] {
    return this.inputs.map((s) => ({ ...s, dims: [...s.dims] }));
  }

  outputSpecs(): OnnxValueSpec[] {
    return this.outputs.map((s) => ({ ...s, dims: [...s.dims] }));
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'etok',
      producerVersion: '0.1.0',
      opsetImport: [...this.domains].map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** The graph inputs of a serialised model that are not initializers, with their declared dims. */
export function declaredInputs(bytes: Uint8Array): OnnxValueSpec[] {
  const model = onnx.ModelProto.decode(bytes);
  const initialized = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const byCode = new Map(Object.entries(DATA_TYPE).map(([k, v]) => [v, k as OnnxElementType]));
  return (model.graph?.input ?? [])
    .filter((i) => !initialized.has(i.name ?? ''))
    .map((i) => ({
      name: i.name ?? '',
      type: byCode.get(i.type?.tensorType?.elemType ?? 0) ?? 'float32',
      dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) =>
        d.dimValue !== null && d.dimValue !== undefined && Number(d.dimValue) > 0
          ? Number(d.dimValue)
          : d.dimParam || '?',
      ),
    }));
}
