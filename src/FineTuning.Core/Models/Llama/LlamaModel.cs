using System;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Llama;

/// <summary>The decoder stack (HF <c>LlamaModel</c>): <c>embed_tokens</c>, <c>layers.{i}</c>, <c>norm</c>.</summary>
internal sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly nn.Module<Tensor, Tensor> embed_tokens; // an Embedding, or an adapter's IEmbeddingWrapper around it
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;
#pragma warning restore IDE1006
    private readonly float[] inverseFrequencies;

    internal LlamaModel(LlamaConfig config, Device? device, ScalarType? dtype)
        : base(nameof(LlamaModel))
    {
        inverseFrequencies = RotaryEmbedding.InverseFrequencies(config.EffectiveHeadDim, config.RopeTheta, config.RopeScaling);
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => new LlamaDecoderLayer(config, i, device, dtype)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    internal Tensor EmbeddingWeight => Adapters.EmbeddingWeights.Of(embed_tokens);

    /// <summary>Replaces the token embedding by one of <paramref name="rows"/> rows (<see cref="EmbeddingResizer"/>).</summary>
    internal void ResizeEmbedding(int rows)
    {
        if (embed_tokens is not Embedding old)
        {
            throw new InvalidOperationException(embed_tokens is Adapters.IFrozenEmbedding
                ? $"The token embedding is stored quantized ({embed_tokens.GetType().Name}); resizing it is not supported yet: resize the vocabulary before quantizing."
                : $"The token embedding is wrapped by an adapter ({embed_tokens.GetType().Name}); resize the vocabulary before applying adapters.");
        }

        Adapters.ModuleSurgery.Replace(this, nameof(embed_tokens), old, EmbeddingResizer.Resize(old, rows));
        old.Dispose();
    }

    /// <summary>
    /// Use the fused autograd function of SwiGLU (Models/Fused) in every layer, the default, or the composition of ordinary
    /// ops it replaces (the reference of the gradient parity tests, and the benchmark's before).
    /// </summary>
    internal bool FusedKernels
    {
        get => _fused;
        set
        {
            _fused = value;
            foreach (LlamaDecoderLayer layer in layers) layer.Fused = value;
            norm.Fused = value;
        }
    }

    private bool _fused = true;

    /// <summary>Checkpoint every decoder layer but the last in training forwards (<see cref="Training.ISupportsGradientCheckpointing"/>).</summary>
    internal bool GradientCheckpointing { get; set; }

    public override Tensor forward(Tensor input) => Forward(input, null, null, null);

    /// <summary>Final normalised hidden states [batch, seq, hidden].</summary>
    internal Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long seq = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        Device device = inputIds.device;
        positionIds ??= CausalMask.DefaultPositions(inputIds.shape[0], seq, past, attentionMask, device);
        Tensor? mask = CausalMask.Build(seq, past, attentionMask, device);

        Tensor h = embed_tokens.call(inputIds);
        (Tensor cos, Tensor sin) = RotaryEmbedding.Tables(positionIds, inverseFrequencies, h.dtype);
        bool checkpoint = GradientCheckpoint.Applies(GradientCheckpointing, this, cache is not null);
        int index = 0;
        foreach (LlamaDecoderLayer layer in layers)
        {
            h = GradientCheckpoint.ForLayer(checkpoint, index++, layers.Count)
                ? GradientCheckpoint.Run(layer, (x, saved) => layer.Forward(x, saved[0]!, saved[1]!, saved[2], null), h, cos, sin, mask)
                : layer.Forward(h, cos, sin, mask, cache);
        }

        return norm.call(h).MoveToOuterDisposeScope();
    }
}
