using System;
using System.Collections.Generic;

namespace FineTuning.Models.Onnx;

/// <summary>An ONNX <c>GraphProto</c>: nodes in topological order, initializers by name, input and output names.</summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, OnnxNode> _producers;
    private readonly Dictionary<string, List<OnnxNode>> _consumers;

    private OnnxGraph(string name, List<OnnxNode> nodes, Dictionary<string, OnnxTensor> initializers, List<string> inputs, List<string> outputs)
    {
        Name = name;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
        _producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        _consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (OnnxNode node in nodes)
        {
            foreach (string output in node.Outputs) _producers[output] = node;
            foreach (string input in node.Inputs)
            {
                if (!_consumers.TryGetValue(input, out List<OnnxNode>? list)) _consumers[input] = list = new List<OnnxNode>();
                list.Add(node);
            }
        }
    }

    internal string Name { get; }

    internal IReadOnlyList<OnnxNode> Nodes { get; }

    internal IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Graph input names, initializers excluded (older exporters list initializers as inputs too).</summary>
    internal IReadOnlyList<string> Inputs { get; }

    internal IReadOnlyList<string> Outputs { get; }

    /// <summary>The node that produces <paramref name="value"/>, or null for graph inputs and initializers.</summary>
    internal OnnxNode? Producer(string value) => _producers.GetValueOrDefault(value);

    /// <summary>The nodes that read <paramref name="value"/>.</summary>
    internal IReadOnlyList<OnnxNode> Consumers(string value) =>
        _consumers.TryGetValue(value, out List<OnnxNode>? list) ? list : Array.Empty<OnnxNode>();

    /// <summary>A constant value: an initializer or the output of a <c>Constant</c> node.</summary>
    internal OnnxTensor? Constant(string value)
    {
        if (Initializers.TryGetValue(value, out OnnxTensor? t)) return t;
        OnnxNode? node = Producer(value);
        return node is { OpType: "Constant" } && node.TensorAttributes.TryGetValue("value", out t) ? t : null;
    }

    internal static OnnxGraph Parse(ReadOnlyMemory<byte> message)
    {
        var reader = new ProtoReader(message);
        string name = string.Empty;
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var inputs = new List<string>();
        var outputs = new List<string>();
        while (reader.TryReadTag(out int field, out int wire))
        {
            switch (field)
            {
                case 1: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "node"); nodes.Add(OnnxNode.Parse(reader.ReadBytes())); break;
                case 2: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "graph.name"); name = reader.ReadString(); break;
                case 5:
                    reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "initializer");
                    OnnxTensor tensor = OnnxTensor.Parse(reader.ReadBytes());
                    if (!initializers.TryAdd(tensor.Name, tensor)) throw new OnnxFormatException($"Duplicate initializer '{tensor.Name}'.");
                    break;
                case 11: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "graph.input"); inputs.Add(ValueInfoName(reader.ReadBytes())); break;
                case 12: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "graph.output"); outputs.Add(ValueInfoName(reader.ReadBytes())); break;
                default: reader.Skip(wire); break;
            }
        }
        inputs.RemoveAll(initializers.ContainsKey);
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static string ValueInfoName(ReadOnlyMemory<byte> message)
    {
        var reader = new ProtoReader(message);
        string name = string.Empty;
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 1 && wire == ProtoReader.WireLengthDelimited) name = reader.ReadString();
            else reader.Skip(wire);
        }
        return name;
    }
}
