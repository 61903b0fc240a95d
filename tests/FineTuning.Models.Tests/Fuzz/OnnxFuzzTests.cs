using System;
using FineTuning.Models.Bert;
using FineTuning.Models.Onnx;
using FineTuning.Models.Tests.Bert;
using FineTuning.Testing.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Models.Tests.Fuzz;

/// <summary>Seeded mutations of ONNX protobuf: a hand-built graph read whole, and the real all-MiniLM-L6-v2 file's first 64 KB.</summary>
[Collection(MiniLMCollection.Name)]
public sealed class OnnxFuzzTests(MiniLMFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void OnnxModelParse_MutatedSmallGraph_AcceptsOrThrowsOnnxFormatException()
    {
        var graph = new ProtoWriter()
            .Message(1, new ProtoWriter().String(1, "x").String(1, "w").String(2, "y").String(3, "mm").String(4, "MatMul"))
            .Message(1, new ProtoWriter().String(1, "y").String(1, "b").String(2, "z").String(3, "add").String(4, "Add"))
            .String(2, "g")
            .Message(5, ProtoWriter.FloatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6]))
            .Message(5, new ProtoWriter().Varint(1, 3).Varint(2, 1).String(8, "b").Floats(4, [0.5f, -2f, 1f]))
            .Message(11, new ProtoWriter().String(1, "x"))
            .Message(12, new ProtoWriter().String(1, "z"));
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("ONNX protobuf (hand-built graph)", 61, 600, typeof(OnnxFormatException)),
            FuzzInputs.Bytes(ProtoWriter.Model(graph)),
            bytes =>
            {
                OnnxModel model = OnnxModel.Parse(bytes);
                foreach (OnnxTensor t in model.Graph.Initializers.Values)
                {
                    if (t.DataType == OnnxTensor.Float) t.ToFloatArray();
                    else if (t.DataType is OnnxTensor.Int64 or OnnxTensor.Int32) t.ToInt64Array();
                }
            });
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void OnnxModelParse_MutatedRealModelHeader_AcceptsOrThrowsOnnxFormatException()
    {
        byte[] seed = fixture.OnnxBytes;
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("ONNX protobuf (all-MiniLM-L6-v2)", 62, 40, typeof(OnnxFormatException)),
            FuzzInputs.Bytes(seed, focus: 64 << 10),
            bytes => OnnxModel.Parse(bytes));
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void BertOnnxCheckpointFromBytes_MutatedRealModelHeader_AcceptsOrThrowsOnnxFormatException()
    {
        // Each accepted input builds the 22.7M-parameter encoder, so the ordinary run tries few.
        string vocab = System.IO.File.ReadAllText(fixture.VocabPath);
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("ONNX BERT import (all-MiniLM-L6-v2)", 63, 12, typeof(OnnxFormatException)) { AllocationPerInputByte = 16 },
            FuzzInputs.Bytes(fixture.OnnxBytes, focus: 64 << 10),
            bytes => BertOnnxCheckpoint.FromBytes(bytes, vocab));
        output.WriteLine(outcome.ToString());
    }
}
