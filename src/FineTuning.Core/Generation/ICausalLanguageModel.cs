using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Generation;

/// <summary>A decoder-only language model that <see cref="TextGenerator"/> can drive token by token.</summary>
public interface ICausalLanguageModel
{
    /// <summary>Number of token ids (the width of the logits).</summary>
    int VocabSize { get; }

    /// <summary>The device the model's parameters live on; inputs are created there.</summary>
    Device Device { get; }

    /// <summary>Creates an empty cache sized for this model.</summary>
    KVCache CreateCache();

    /// <summary>
    /// Logits [batch, seq, vocab] for <paramref name="inputIds"/> [batch, seq] (int64).
    /// </summary>
    /// <param name="inputIds">Token ids of the new positions.</param>
    /// <param name="attentionMask">Optional [batch, past + seq], 1 = real token, 0 = padding; covers cached positions too.
    /// Or a full bool mask [batch|1, 1, seq, past + seq] (true = attend) used as given, e.g. the block-diagonal causal mask of packed sequences (<c>FineTuning.Data.PackedAttention</c>).</param>
    /// <param name="positionIds">Optional [batch, seq] positions; by default derived from the mask (padding-aware) or the cache offset.</param>
    /// <param name="cache">Optional cache: its positions are attended to and the new keys/values are appended.</param>
    Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KVCache? cache = null);
}
