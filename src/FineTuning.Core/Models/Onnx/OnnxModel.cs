using System;

namespace FineTuning.Models.Onnx;

/// <summary>
/// An ONNX <c>ModelProto</c> (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) read by our own minimal
/// protobuf reader: enough to take initializers out and follow the graph, no ONNX Runtime needed.
/// </summary>
internal sealed class OnnxModel
{
    private OnnxModel(long irVersion, string producerName, OnnxGraph graph)
    {
        IrVersion = irVersion;
        ProducerName = producerName;
        Graph = graph;
    }

    internal long IrVersion { get; }

    internal string ProducerName { get; }

    internal OnnxGraph Graph { get; }

    /// <summary>Parses a whole ONNX file held in memory. Tensor data stays a slice of <paramref name="data"/>.</summary>
    /// <exception cref="OnnxFormatException">The bytes are not a well-formed ONNX model with a graph.</exception>
    internal static OnnxModel Parse(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty) throw new OnnxFormatException("The ONNX data is empty.");
        var reader = new ProtoReader(data);
        long irVersion = 0;
        string producer = string.Empty;
        OnnxGraph? graph = null;
        try
        {
            while (reader.TryReadTag(out int field, out int wire))
            {
                switch (field)
                {
                    case 1: reader.ExpectWireType(wire, ProtoReader.WireVarint, "ir_version"); irVersion = reader.ReadInt64(); break;
                    case 2: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "producer_name"); producer = reader.ReadString(); break;
                    case 7: reader.ExpectWireType(wire, ProtoReader.WireLengthDelimited, "graph"); graph = OnnxGraph.Parse(reader.ReadBytes()); break;
                    default: reader.Skip(wire); break;
                }
            }
        }
        catch (OverflowException e)
        {
            throw new OnnxFormatException("The ONNX data holds an out-of-range number.", e);
        }
        if (graph is null) throw new OnnxFormatException("The ONNX data holds no graph (ModelProto field 7).");
        if (irVersion <= 0) throw new OnnxFormatException($"The ONNX data has no valid ir_version ({irVersion}).");
        return new OnnxModel(irVersion, producer, graph);
    }
}
