using System;
using System.Linq;
using FineTuning.Generation;
using FineTuning.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Gpt2;

/// <summary>The decoder stack (HF <c>GPT2Model</c>): <c>wte</c>, <c>wpe</c>, <c>h.{i}</c>, <c>ln_f</c>.</summary>
internal sealed class Gpt2Model : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are state-dict keys
    private readonly nn.Module<Tensor, Tensor> wte; // an Embedding, or an adapter's IEmbeddingWrapper around it
    private readonly Embedding wpe;
    private readonly Dropout drop;
    private readonly ModuleList<Gpt2Block> h;
    private readonly LayerNorm ln_f;
#pragma warning restore IDE1006
    private readonly int positions;

    internal Gpt2Model(Gpt2Config config, Device? device, ScalarType? dtype)
        : base(nameof(Gpt2Model))
    {
        positions = config.NPositions;
        wte = nn.Embedding(config.VocabSize, config.NEmbd, device: device, dtype: dtype);
        wpe = nn.Embedding(config.NPositions, config.NEmbd, device: device, dtype: dtype);
        drop = nn.Dropout(config.EmbdPdrop);
        h = nn.ModuleList(Enumerable.Range(0, config.NLayer).Select(i => new Gpt2Block(config, i, device, dtype)).ToArray());
        ln_f = nn.LayerNorm(config.NEmbd, config.LayerNormEpsilon, device: device, dtype: dtype);
        RegisterComponents();
    }

    internal Tensor EmbeddingWeight => Adapters.EmbeddingWeights.Of(wte);

    /// <summary>Checkpoint every block but the last in training forwards (<see cref="Training.ISupportsGradientCheckpointing"/>).</summary>
    internal bool GradientCheckpointing { get; set; }

    public override Tensor forward(Tensor input) => Forward(input, null, null, null);

    /// <summary>Final normalised hidden states [batch, seq, n_embd].</summary>
    internal Tensor Forward(Tensor inputIds, Tensor? attentionMask, Tensor? positionIds, KVCache? cache)
    {
        using var scope = torch.NewDisposeScope();
        long seq = inputIds.shape[1];
        long past = cache?.Length ?? 0;
        if (past + seq > positions)
        {
            throw new ArgumentException($"{past + seq} positions exceed n_positions ({positions}).", nameof(inputIds));
        }

        Device device = inputIds.device;
        positionIds ??= CausalMask.DefaultPositions(inputIds.shape[0], seq, past, attentionMask, device);
        Tensor? mask = CausalMask.Build(seq, past, attentionMask, device);
        Tensor x = drop.call(wte.call(inputIds) + wpe.call(positionIds));
        bool checkpoint = GradientCheckpoint.Applies(GradientCheckpointing, this, cache is not null);
        int index = 0;
        foreach (Gpt2Block block in h)
        {
            x = GradientCheckpoint.ForLayer(checkpoint, index++, h.Count)
                ? GradientCheckpoint.Run(block, (input, saved) => block.Forward(input, saved[0], null), x, mask)
                : block.Forward(x, mask, cache);
        }

        return ln_f.call(x).MoveToOuterDisposeScope();
    }
}
