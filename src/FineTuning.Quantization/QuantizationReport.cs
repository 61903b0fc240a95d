namespace FineTuning.Quantization;

/// <summary>Storage and quantization error of one quantized weight matrix.</summary>
/// <param name="Layer">The module name (empty when measured outside a model).</param>
/// <param name="Type">The format.</param>
/// <param name="BlockSize">Values per block.</param>
/// <param name="DoubleQuantization">Whether the block scales are quantized too.</param>
/// <param name="Rows">Output features.</param>
/// <param name="Columns">Input features.</param>
/// <param name="StorageBytes">Bytes of codes and scales.</param>
/// <param name="BitsPerParameter">8 * StorageBytes / (Rows * Columns).</param>
/// <param name="Rmse">Root mean square of dequantized minus original.</param>
/// <param name="MaxAbsError">Largest absolute difference.</param>
public sealed record QuantizationReport(string Layer, QuantizationType Type, int BlockSize, bool DoubleQuantization, long Rows, long Columns,
    long StorageBytes, double BitsPerParameter, double Rmse, double MaxAbsError)
{
    /// <summary>Bytes of storage per parameter.</summary>
    public double BytesPerParameter => BitsPerParameter / 8;
}
