using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using FineTuning.Models.Onnx;

namespace FineTuning.Models.Bert;

/// <summary>One weight in Hugging Face layout: row-major data of the given shape.</summary>
internal sealed record HfWeight(long[] Shape, float[] Data);

/// <summary>
/// Turns a PyTorch-exported BERT ONNX graph (as sentence-transformers ships it) into Hugging Face state-dict
/// weights and a <see cref="BertConfig"/>. Named initializers (embeddings, biases, LayerNorms, pooler) keep
/// their names. The exporter stores each Linear weight pre-transposed ([in, out]) under an anonymous name as
/// the second input of a MatMul; the MatMul's output feeds an Add with the named bias, so the weight's name is
/// the bias name with <c>.bias</c> replaced by <c>.weight</c>, and its data is transposed back to [out, in].
/// </summary>
internal static class OnnxBertImporter
{
    internal static Dictionary<string, HfWeight> ReadWeights(OnnxGraph graph)
    {
        var weights = new Dictionary<string, HfWeight>(StringComparer.Ordinal);
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        foreach (OnnxNode node in graph.Nodes)
        {
            if (node.OpType == "MatMul" && node.Inputs.Count == 2 && graph.Constant(node.Inputs[1]) is { } w)
            {
                if (w.Dims.Count != 2) throw new OnnxFormatException($"MatMul '{node.Name}' has a constant operand of rank {w.Dims.Count}, expected 2.");
                string biasName = BiasOf(graph, node);
                string name = biasName[..^".bias".Length] + ".weight";
                Add(weights, name, Transpose(w.ToFloatArray(), (int)w.Dims[0], (int)w.Dims[1]), w.Dims[1], w.Dims[0]);
                consumed.Add(w.Name);
            }
            else if (node.OpType == "Gemm" && node.Inputs.Count >= 2 && graph.Initializers.TryGetValue(node.Inputs[1], out OnnxTensor? g))
            {
                if (node.IntAttributes.GetValueOrDefault("transA") != 0 || g.Dims.Count != 2) throw new OnnxFormatException($"Gemm '{node.Name}' is not a Linear layer.");
                bool transposed = node.IntAttributes.GetValueOrDefault("transB") != 0;
                string name = IsHfName(g.Name) ? g.Name
                    : node.Inputs.Count == 3 && node.Inputs[2].EndsWith(".bias", StringComparison.Ordinal) ? node.Inputs[2][..^".bias".Length] + ".weight"
                    : throw new OnnxFormatException($"Gemm '{node.Name}' has an anonymous weight and no named bias.");
                float[] data = g.ToFloatArray();
                if (transposed) Add(weights, name, data, g.Dims[0], g.Dims[1]);
                else Add(weights, name, Transpose(data, (int)g.Dims[0], (int)g.Dims[1]), g.Dims[1], g.Dims[0]);
                consumed.Add(g.Name);
            }
        }
        foreach (OnnxTensor t in graph.Initializers.Values)
        {
            if (consumed.Contains(t.Name) || !IsHfName(t.Name) || t.DataType != OnnxTensor.Float) continue;
            Add(weights, t.Name, t.ToFloatArray(), t.Dims.ToArray());
        }
        return weights;
    }

    /// <summary>Infers the config from weight shapes; heads and epsilon from the graph's constants.</summary>
    internal static BertConfig InferConfig(OnnxGraph graph, IReadOnlyDictionary<string, HfWeight> weights)
    {
        long[] words = Require(weights, "embeddings.word_embeddings.weight").Shape;
        int layers = 0;
        while (weights.ContainsKey($"encoder.layer.{layers}.attention.self.query.weight")) layers++;
        if (layers == 0) throw new OnnxFormatException("No encoder.layer.0.attention.self.query weight found: the graph is not a BERT encoder.");
        var config = new BertConfig
        {
            VocabSize = checked((int)words[0]),
            HiddenSize = checked((int)words[1]),
            NumHiddenLayers = layers,
            IntermediateSize = checked((int)Require(weights, "encoder.layer.0.intermediate.dense.weight").Shape[0]),
            MaxPositionEmbeddings = checked((int)Require(weights, "embeddings.position_embeddings.weight").Shape[0]),
            TypeVocabSize = checked((int)Require(weights, "embeddings.token_type_embeddings.weight").Shape[0]),
            NumAttentionHeads = InferHeads(graph),
            LayerNormEps = InferLayerNormEps(graph) ?? 1e-12,
        };
        try
        {
            config.Validate();
        }
        catch (FineTuningException e)
        {
            throw new OnnxFormatException("The BERT config inferred from the ONNX graph is inconsistent: " + e.Message, e);
        }
        return config;
    }

    private static string BiasOf(OnnxGraph graph, OnnxNode matMul)
    {
        foreach (OnnxNode add in graph.Consumers(matMul.Outputs[0]))
        {
            if (add.OpType != "Add") continue;
            string? bias = add.Inputs.FirstOrDefault(i => i != matMul.Outputs[0] && graph.Initializers.ContainsKey(i) && i.EndsWith(".bias", StringComparison.Ordinal));
            if (bias is not null) return bias;
        }
        throw new OnnxFormatException($"MatMul '{matMul.Name}' does not feed an Add with a named '*.bias' initializer, so its weight cannot be named.");
    }

    /// <summary>The first Reshape to four dimensions whose shape is a Concat ending in two constants [heads, head size].</summary>
    private static int InferHeads(OnnxGraph graph)
    {
        foreach (OnnxNode reshape in graph.Nodes.Where(n => n.OpType == "Reshape" && n.Inputs.Count == 2))
        {
            OnnxNode? concat = graph.Producer(reshape.Inputs[1]);
            if (concat is not { OpType: "Concat" } || concat.Inputs.Count != 4) continue;
            OnnxTensor? heads = graph.Constant(concat.Inputs[2]);
            OnnxTensor? size = graph.Constant(concat.Inputs[3]);
            if (heads is null || size is null || heads.DataType != OnnxTensor.Int64 || size.DataType != OnnxTensor.Int64) continue;
            long[] h = heads.ToInt64Array();
            if (h.Length == 1 && h[0] > 0) return checked((int)h[0]);
        }
        throw new OnnxFormatException("The number of attention heads cannot be found in the graph (no Reshape to [batch, seq, heads, head size]); pass a BertConfig.");
    }

    /// <summary>Epsilon of a decomposed LayerNorm: the scalar added to ReduceMean((x - mean)^2) before Sqrt.</summary>
    private static double? InferLayerNormEps(OnnxGraph graph)
    {
        foreach (OnnxNode node in graph.Nodes)
        {
            if (node.OpType == "LayerNormalization") return node.FloatAttributes.TryGetValue("epsilon", out float e) ? e : 1e-5;
            if (node.OpType != "Sqrt" || graph.Producer(node.Inputs[0]) is not { OpType: "Add" } add) continue;
            if (!add.Inputs.Any(i => graph.Producer(i)?.OpType == "ReduceMean")) continue;
            foreach (string input in add.Inputs)
            {
                if (graph.Constant(input) is { DataType: OnnxTensor.Float } c && c.ElementCount == 1) return c.ToFloatArray()[0];
            }
        }
        return null;
    }

    private static bool IsHfName(string name) =>
        name.Contains('.', StringComparison.Ordinal) && !long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _)
        && !name.EndsWith("position_ids", StringComparison.Ordinal);

    private static HfWeight Require(IReadOnlyDictionary<string, HfWeight> weights, string name) =>
        weights.TryGetValue(name, out HfWeight? w) ? w : throw new OnnxFormatException($"The ONNX graph has no weight that maps to '{name}'.");

    private static void Add(Dictionary<string, HfWeight> weights, string name, float[] data, params long[] shape)
    {
        if (!weights.TryAdd(name, new HfWeight(shape, data))) throw new OnnxFormatException($"Two ONNX tensors map to the same weight '{name}'.");
    }

    private static float[] Transpose(float[] data, int rows, int cols)
    {
        var result = new float[data.Length];
        if (data.Length == 0) return result;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) result[(c * rows) + r] = data[(r * cols) + c];
        }
        return result;
    }
}
