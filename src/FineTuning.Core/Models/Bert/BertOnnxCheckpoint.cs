using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Models.Onnx;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>
/// A pretrained BERT encoder read from a PyTorch-exported ONNX file plus its <c>vocab.txt</c>, as
/// sentence-transformers models are distributed (see <see cref="MiniLM"/>). The ONNX file is parsed by our own
/// reader; ONNX Runtime is not needed. The weights are renamed to Hugging Face's BERT state-dict keys.
/// </summary>
public sealed class BertOnnxCheckpoint
{
    private readonly Dictionary<string, HfWeight> _weights;

    private BertOnnxCheckpoint(Dictionary<string, HfWeight> weights, BertConfig config, IReadOnlyList<string> vocabulary)
    {
        _weights = weights;
        Config = config;
        Vocabulary = vocabulary;
    }

    /// <summary>The architecture inferred from the graph (sizes from weight shapes, heads and epsilon from constants).</summary>
    public BertConfig Config { get; }

    /// <summary>The tokens of <c>vocab.txt</c>, in id order.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>The Hugging Face names of the weights, e.g. <c>encoder.layer.0.attention.self.query.weight</c>.</summary>
    public IReadOnlyCollection<string> WeightNames => _weights.Keys;

    /// <summary>Reads <paramref name="onnxPath"/> and <paramref name="vocabPath"/>.</summary>
    /// <param name="onnxPath">A self-contained BERT <c>model.onnx</c>.</param>
    /// <param name="vocabPath">Its <c>vocab.txt</c>.</param>
    /// <exception cref="OnnxFormatException">The ONNX file is malformed or is not a BERT encoder this reader understands.</exception>
    public static BertOnnxCheckpoint FromFiles(string onnxPath, string vocabPath) =>
        FromBytes(File.ReadAllBytes(onnxPath), File.ReadAllText(vocabPath, Encoding.UTF8));

    /// <summary>Parses an ONNX model held in memory and the text of its <c>vocab.txt</c>.</summary>
    /// <param name="onnx">The ONNX file's bytes.</param>
    /// <param name="vocabText">The text of <c>vocab.txt</c>.</param>
    /// <exception cref="OnnxFormatException">The ONNX data is malformed or is not a BERT encoder this reader understands.</exception>
    public static BertOnnxCheckpoint FromBytes(ReadOnlyMemory<byte> onnx, string vocabText)
    {
        ArgumentNullException.ThrowIfNull(vocabText);
        OnnxModel model = OnnxModel.Parse(onnx);
        Dictionary<string, HfWeight> weights;
        BertConfig config;
        try
        {
            weights = OnnxBertImporter.ReadWeights(model.Graph);
            config = OnnxBertImporter.InferConfig(model.Graph, weights);
        }
        catch (OverflowException e)
        {
            throw new OnnxFormatException("The ONNX graph holds an out-of-range size.", e);
        }
        IReadOnlyList<string> vocabulary = WordPieceTokenizer.ParseVocabulary(vocabText);
        if (vocabulary.Count != config.VocabSize)
        {
            throw new FineTuningException($"vocab.txt has {vocabulary.Count} tokens but the word embeddings have {config.VocabSize} rows.");
        }
        return new BertOnnxCheckpoint(weights, config, vocabulary);
    }

    /// <summary>Creates new tensors for every weight, by Hugging Face name. The caller owns (and disposes) them.</summary>
    public Dictionary<string, Tensor> CreateStateDict() =>
        _weights.ToDictionary(kv => kv.Key, kv => tensor(kv.Value.Data, kv.Value.Shape), StringComparer.Ordinal);

    /// <summary>
    /// Creates a <see cref="BertModel"/> holding these weights, in evaluation mode as every loader returns its model
    /// (dropout off; training switches it to training mode itself).
    /// </summary>
    /// <param name="addPoolingLayer">Whether to include the [CLS] pooler.</param>
    public BertModel CreateModel(bool addPoolingLayer = true)
    {
        var model = new BertModel(Config, addPoolingLayer);
        try
        {
            LoadInto(model);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Copies these weights into <paramref name="model"/> (shapes and names checked).</summary>
    /// <param name="model">A model built with a compatible config.</param>
    public void LoadInto(BertModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        model.LoadWeights(CreateStateDict());
    }

    /// <summary>Creates the matching uncased WordPiece tokenizer.</summary>
    public WordPieceTokenizer CreateTokenizer() => new(Vocabulary, lowerCase: true);
}
