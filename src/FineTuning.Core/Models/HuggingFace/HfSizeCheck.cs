using System.Globalization;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;

namespace FineTuning.Models.HuggingFace;

/// <summary>
/// Compares the sizes in config.json with the weights file(s) before the model is allocated: the weight matrices the
/// config implies (a lower bound of the parameter count: biases, norms and an untied output head left out) must fit in
/// the values the safetensors headers declare. A config that lies (hidden_size 10^6 beside a 1 MB file) is refused
/// with nothing allocated, instead of asking libtorch for tens of GB; the exact per-tensor shape check follows after.
/// </summary>
internal static class HfSizeCheck
{
    internal static void RequireFits(string configPath, ISafeTensorsReader reader, LlamaConfig c)
    {
        double h = c.HiddenSize, heads = c.NumAttentionHeads, kv = c.EffectiveKeyValueHeads;
        double headDim = c.HeadDim is > 0 ? c.HeadDim.Value : h / heads;
        double perLayer = 2 * h * heads * headDim + 2 * h * kv * headDim + 3 * h * c.IntermediateSize;
        RequireFits(configPath, reader, (double)c.VocabSize * h + c.NumHiddenLayers * perLayer);
    }

    internal static void RequireFits(string configPath, ISafeTensorsReader reader, Gpt2Config c)
    {
        double e = c.NEmbd, inner = c.NInner is > 0 ? c.NInner.Value : 4 * e;
        RequireFits(configPath, reader, ((double)c.VocabSize + c.NPositions) * e + c.NLayer * (4 * e * e + 2 * e * inner));
    }

    internal static void RequireFits(string configPath, ISafeTensorsReader reader, BertConfig c)
    {
        double h = c.HiddenSize;
        RequireFits(configPath, reader, ((double)c.VocabSize + c.MaxPositionEmbeddings + c.TypeVocabSize) * h + c.NumHiddenLayers * (4 * h * h + 2 * h * c.IntermediateSize));
    }

    private static void RequireFits(string configPath, ISafeTensorsReader reader, double atLeast)
    {
        double inFiles = 0;
        foreach (SafeTensorInfo t in reader.Tensors) inFiles += t.ElementCount;
        if (atLeast <= inFiles) return;
        throw new CheckpointWeightsException(string.Create(CultureInfo.InvariantCulture,
            $"'{configPath}' describes a model whose weight matrices alone hold {atLeast:N0} values, but the weights file(s) declare {inFiles:N0} in all: the config's sizes (hidden, layers, vocabulary, heads, intermediate) do not match the weights; nothing was allocated."));
    }
}
