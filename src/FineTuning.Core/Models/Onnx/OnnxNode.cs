using System;
using System.Collections.Generic;

namespace FineTuning.Models.Onnx;

/// <summary>An ONNX <c>NodeProto</c>: one operator application. Only tensor, int and float attributes are kept.</summary>
internal sealed class OnnxNode
{
    private OnnxNode(string name, string opType, string domain, string[] inputs, string[] outputs, Dictionary<string, OnnxTensor> tensorAttributes, Dictionary<string, long> intAttributes, Dictionary<string, float> floatAttributes)
    {
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs;
        Outputs = outputs;
        TensorAttributes = tensorAttributes;
        IntAttributes = intAttributes;
        FloatAttributes = floatAttributes;
    }

    internal string Name { get; }

    internal string OpType { get; }

    internal string Domain { get; }

    internal IReadOnlyList<string> Inputs { get; }

    internal IReadOnlyList<string> Outputs { get; }

    /// <summary>Attributes of type TENSOR (for example the <c>value</c> of a <c>Constant</c> node).</summary>
    internal IReadOnlyDictionary<string, OnnxTensor> TensorAttributes { get; }

    internal IReadOnlyDictionary<string, long> IntAttributes { get; }

    internal IReadOnlyDictionary<string, float> FloatAttributes { get; }

    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    internal static OnnxNode Parse(ReadOnlyMemory<byte> message)
    {
        var reader = new ProtoReader(message);
        string name = string.Empty, opType = string.Empty, domain = string.Empty;
        var inputs = new List<string>();
        var outputs = new List<string>();
        var tensors = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var ints = new Dictionary<string, long>(StringComparer.Ordinal);
        var floats = new Dictionary<string, float>(StringComparer.Ordinal);
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "input"); inputs.Add(reader.ReadString()); break;
                case 2: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "output"); outputs.Add(reader.ReadString()); break;
                case 3: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "name"); name = reader.ReadString(); break;
                case 4: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "op_type"); opType = reader.ReadString(); break;
                case 5: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "attribute"); ParseAttribute(reader.ReadBytes(), tensors, ints, floats); break;
                case 7: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "domain"); domain = reader.ReadString(); break;
                default: reader.Skip(wire); break;
            }
        }
        return new OnnxNode(name, opType, domain, inputs.ToArray(), outputs.ToArray(), tensors, ints, floats);
    }

    private static void ParseAttribute(ReadOnlyMemory<byte> message, Dictionary<string, OnnxTensor> tensors, Dictionary<string, long> ints, Dictionary<string, float> floats)
    {
        // AttributeProto: name = 1, f = 2, i = 3, t = 5; sub-graphs (g = 6) are not followed.
        var reader = new ProtoReader(message);
        string name = string.Empty;
        float? f = null;
        long? i = null;
        OnnxTensor? t = null;
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "attribute.name"); name = reader.ReadString(); break;
                case 2: reader.ExpectWireType(wire, ProtoReader.WireFixed32, "attribute.f"); f = reader.ReadFloat(); break;
                case 3: reader.ExpectWireType(wire, ProtoReader.WireVarint, "attribute.i"); i = reader.ReadInt64(); break;
                case 5: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "attribute.t"); t = OnnxTensor.Parse(reader.ReadBytes()); break;
                default: reader.Skip(wire); break;
            }
        }
        if (t is not null) tensors[name] = t;
        if (i is not null) ints[name] = i.Value;
        if (f is not null) floats[name] = f.Value;
    }
}
