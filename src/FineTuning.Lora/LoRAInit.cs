using System;
using System.Globalization;

namespace FineTuning.Lora;

/// <summary>
/// PEFT's <c>init_lora_weights</c>: how a new adapter's A and B start (and, for PiSSA and OLoRA, how the base weight is
/// rewritten so that the layer's output is unchanged). The value is written to and read from adapter_config.json as
/// PEFT writes it (<c>true</c>, <c>false</c>, <c>"gaussian"</c>, <c>"pissa"</c>, <c>"pissa_niter_4"</c>, <c>"olora"</c>, <c>"loftq"</c>).
/// </summary>
public sealed class LoRAInit : IEquatable<LoRAInit>
{
    private const string PiSSANiterPrefix = "pissa_niter_";

    private LoRAInit(string peftValue, int iterations)
    {
        PeftValue = peftValue;
        Iterations = iterations;
    }

    /// <summary>PEFT's <c>true</c> (the default): A Kaiming-uniform (U(-1/sqrt(in), 1/sqrt(in))), B zero: the layer starts unchanged.</summary>
    public static LoRAInit Default { get; } = new("true", 0);

    /// <summary>PEFT's <c>false</c>: A and B both as a fresh <c>nn.Linear</c> (Kaiming-uniform), so the layer starts changed (for tests and debugging).</summary>
    public static LoRAInit Random { get; } = new("false", 0);

    /// <summary>PEFT's <c>"gaussian"</c>: A ~ N(0, (1/r)^2), B zero.</summary>
    public static LoRAInit Gaussian { get; } = new("gaussian", 0);

    /// <summary>
    /// PEFT's <c>"pissa"</c> (Meng et al. 2024, "PiSSA", arXiv:2404.02948): with the SVD W = U S V^T, B = U_r sqrt(S_r / s),
    /// A = sqrt(S_r / s) V_r^T and the base weight becomes the residual W - s B A, so the layer starts unchanged and the
    /// adapter trains the principal components. Needs a dense base; the adapter is only meaningful on that residual base.
    /// </summary>
    public static LoRAInit PiSSA { get; } = new("pissa", 0);

    /// <summary>PEFT's <c>"olora"</c> (Büyükakyüz 2024, arXiv:2406.01775): W = QR, B = Q[:, :r], A = R[:r], base becomes W - s B A.</summary>
    public static LoRAInit OLoRA { get; } = new("olora", 0);

    /// <summary>
    /// PEFT's <c>"pissa_niter_N"</c>: PiSSA with a fast randomized SVD (Halko et al. 2011, as <c>torch.svd_lowrank</c>) of
    /// <paramref name="iterations"/> subspace iterations instead of the full SVD. The base is still exactly W - s B A.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is negative.</exception>
    public static LoRAInit PiSSAFast(int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        return new LoRAInit(PiSSANiterPrefix + iterations.ToString(CultureInfo.InvariantCulture), iterations);
    }

    /// <summary>
    /// PEFT's <c>"loftq"</c> (Li et al. 2023, "LoftQ", arXiv:2310.08659) with <c>loftq_config.loftq_iter</c> =
    /// <paramref name="iterations"/>: the base is quantized and A, B absorb the quantization error, alternating
    /// Q = quantize(W - s B A) and (B, A) = the best rank-r approximation of (W - Q) / s. Needs the quantization to apply:
    /// use it through <c>WithQLoRA</c>, or <c>new LoRAAdapter(options, quantization)</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> is below 1.</exception>
    public static LoRAInit LoftQ(int iterations = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return new LoRAInit("loftq", iterations);
    }

    /// <summary>The value of <c>init_lora_weights</c>: "true", "false" or the string PEFT writes.</summary>
    public string PeftValue { get; }

    /// <summary>Subspace iterations (pissa_niter_N) or LoftQ iterations (loftq_iter); 0 otherwise.</summary>
    public int Iterations { get; }

    /// <summary>True when this initialisation rewrites the base weight (PiSSA, OLoRA, LoftQ).</summary>
    public bool ChangesBase => IsPiSSA || this == OLoRA || IsLoftQ;

    internal bool IsPiSSA => PeftValue == "pissa" || PeftValue.StartsWith(PiSSANiterPrefix, StringComparison.Ordinal);

    internal bool IsLoftQ => PeftValue == "loftq";

    /// <summary>
    /// The initialisation named by PEFT's <c>init_lora_weights</c> value ("true", "false", "gaussian", "pissa", "pissa_niter_N",
    /// "olora", "loftq" with <paramref name="loftQIterations"/>); null for a value this library does not know (e.g. "eva", "corda").
    /// </summary>
    public static LoRAInit? FromPeftValue(string value, int loftQIterations = 1)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (value)
        {
            case "true": return Default;
            case "false": return Random;
            case "gaussian": return Gaussian;
            case "pissa": return PiSSA;
            case "olora": return OLoRA;
            case "loftq": return loftQIterations >= 1 ? LoftQ(loftQIterations) : null;
        }
        return value.StartsWith(PiSSANiterPrefix, StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(PiSSANiterPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? PiSSAFast(n) : null;
    }

    /// <inheritdoc />
    public bool Equals(LoRAInit? other) => other is not null && other.PeftValue == PeftValue && other.Iterations == Iterations;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LoRAInit);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(PeftValue, Iterations);

    /// <inheritdoc />
    public override string ToString() => IsLoftQ ? $"loftq (loftq_iter {Iterations})" : PeftValue;

    /// <summary>Equality by value.</summary>
    public static bool operator ==(LoRAInit? left, LoRAInit? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by value.</summary>
    public static bool operator !=(LoRAInit? left, LoRAInit? right) => !(left == right);
}
