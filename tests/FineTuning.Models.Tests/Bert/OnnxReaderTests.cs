using System;
using System.Linq;
using FineTuning.Models.Bert;
using FineTuning.Models.Onnx;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace FineTuning.Models.Tests.Bert;

/// <summary>The protobuf/ONNX reader on hand-built, truncated and random input.</summary>
[Collection(MiniLMCollection.Name)]
public sealed class OnnxReaderTests
{
    private readonly MiniLMFixture _fixture;

    public OnnxReaderTests(MiniLMFixture fixture) => _fixture = fixture;

    [Fact]
    public void Parse_HandBuiltModel_ReadsNodesAndInitializers()
    {
        var graph = new ProtoWriter()
            .Message(1, new ProtoWriter().String(1, "x").String(1, "w").String(2, "y").String(3, "mm").String(4, "MatMul"))
            .String(2, "g")
            .Message(5, ProtoWriter.FloatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6]))
            .Message(11, new ProtoWriter().String(1, "x"))
            .Message(11, new ProtoWriter().String(1, "w"))
            .Message(12, new ProtoWriter().String(1, "y"));
        OnnxModel model = OnnxModel.Parse(ProtoWriter.Model(graph));
        Assert.Equal(7, model.IrVersion);
        OnnxNode node = Assert.Single(model.Graph.Nodes);
        Assert.Equal(("MatMul", "mm"), (node.OpType, node.Name));
        Assert.Equal(["x", "w"], node.Inputs);
        Assert.Equal(["x"], model.Graph.Inputs); // initializers listed as inputs are not graph inputs
        OnnxTensor w = model.Graph.Initializers["w"];
        Assert.Equal([2L, 3L], w.Dims);
        Assert.Equal([1f, 2, 3, 4, 5, 6], w.ToFloatArray());
        Assert.Same(node, Assert.Single(model.Graph.Consumers("w")));
    }

    [Fact]
    public void Parse_PackedFloatData_ReadsValues()
    {
        var tensor = new ProtoWriter().Varint(1, 2).Varint(2, 1).String(8, "f").Floats(4, [0.5f, -2f]);
        OnnxModel model = OnnxModel.Parse(ProtoWriter.Model(new ProtoWriter().Message(5, tensor)));
        Assert.Equal([0.5f, -2f], model.Graph.Initializers["f"].ToFloatArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(1_000_000)]
    [InlineData(45_000_000)]
    [InlineData(-1)]
    public void Parse_TruncatedRealModel_ThrowsOnnxFormatException(int length)
    {
        int cut = length < 0 ? _fixture.OnnxBytes.Length + length : length;
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(_fixture.OnnxBytes.AsMemory(0, cut)));
    }

    [Theory]
    [InlineData(new byte[] { 0x08 })] // tag without value
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // 11-byte varint
    [InlineData(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })] // graph of 4 GB in 6 bytes
    [InlineData(new byte[] { 0x0B, 0x00 })] // start-group wire type
    [InlineData(new byte[] { 0x00, 0x00 })] // field number 0
    [InlineData(new byte[] { 0x08, 0x07 })] // ir_version but no graph
    [InlineData(new byte[] { 0x3A, 0x02, 0x0D, 0x00 })] // graph whose node field has the fixed32 wire type
    public void Parse_MalformedBytes_ThrowsOnnxFormatException(byte[] bytes)
    {
        Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes));
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrowsAnythingElse()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            try
            {
                OnnxModel model = OnnxModel.Parse(bytes);
                foreach (OnnxTensor t in model.Graph.Initializers.Values) _ = t.DataType == OnnxTensor.Float ? t.ToFloatArray().Length : 0;
            }
            catch (OnnxFormatException)
            {
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Parse_RealModelWithFlippedBytes_ThrowsOnlyTypedExceptions()
    {
        // Corrupt the structural prefix (tags, lengths, names) at several places: a change may go unnoticed (a
        // renamed node), but whatever the reader or the BERT mapping notices must surface as a FineTuningException.
        string vocab = string.Join("\n", _fixture.Checkpoint.Vocabulary);
        var random = new Random(1234);
        byte[] copy = new byte[_fixture.OnnxBytes.Length];
        int typed = 0;
        for (int i = 0; i < 6; i++)
        {
            _fixture.OnnxBytes.CopyTo(copy, 0);
            copy[random.Next(0, 4096)] ^= (byte)random.Next(1, 256);
            Exception? e = Record.Exception(() => BertOnnxCheckpoint.FromBytes(copy, vocab));
            Assert.True(e is null or FineTuningException, $"untyped exception: {e}");
            if (e is not null) typed++;
        }
        Assert.True(typed > 0, "no corruption was detected at all");
    }

    [Fact]
    public void FromBytes_ValidOnnxThatIsNotBert_ThrowsOnnxFormatException()
    {
        var graph = new ProtoWriter().Message(5, ProtoWriter.FloatTensor("some.weight", [2], [1, 2]));
        var e = Assert.Throws<OnnxFormatException>(() => BertOnnxCheckpoint.FromBytes(ProtoWriter.Model(graph), "[PAD]\n[UNK]\n"));
        Assert.Contains("embeddings.word_embeddings.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToFloatArray_RawDataOfWrongSize_ThrowsOnnxFormatException()
    {
        var tensor = new ProtoWriter().Varint(1, 4).Varint(2, 1).String(8, "t").Bytes(9, new byte[12]);
        OnnxModel model = OnnxModel.Parse(ProtoWriter.Model(new ProtoWriter().Message(5, tensor)));
        Assert.Throws<OnnxFormatException>(() => model.Graph.Initializers["t"].ToFloatArray());
    }
}
