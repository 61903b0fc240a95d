namespace FineTuning.Lora;

/// <summary>PEFT's <c>combination_type</c> of <c>add_weighted_adapter</c> (see <see cref="LoRA.AddWeightedAdapter"/>).</summary>
public enum AdapterCombination
{
    /// <summary>
    /// <c>"linear"</c>: A = Σ sqrt(w_i s_i) A_i and B = Σ sqrt(w_i s_i) B_i (the adapters must share r). Exact for one adapter;
    /// with several the product has PEFT's cross terms B_i A_j.
    /// </summary>
    Linear,

    /// <summary><c>"cat"</c>: A = [w_1 s_1 A_1; w_2 s_2 A_2; ...], B = [B_1, B_2, ...], rank Σ r_i: exactly Σ w_i s_i B_i A_i.</summary>
    Cat,

    /// <summary>
    /// <c>"svd"</c>: the best rank-k approximation (truncated SVD) of Σ (w_i s_i) ΔW_i, where ΔW_i = s_i B_i A_i is the
    /// adapter's update (PEFT's code weights each update by w_i s_i, so the scale counts twice), k = svd_rank or max r_i.
    /// </summary>
    Svd,
}
