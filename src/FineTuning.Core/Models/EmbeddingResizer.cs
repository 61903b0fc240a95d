using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// Hugging Face's <c>resize_token_embeddings</c> with <c>mean_resizing</c>: the first rows are kept, new rows start at
/// the mean of the old rows. (HF samples them from a normal around that mean with covariance 1e-9 times the old rows';
/// the mean itself is that distribution's centre, deterministic and within ~1e-4 of any draw.)
/// </summary>
internal static class EmbeddingResizer
{
    internal static Embedding Resize(Embedding old, int rows)
    {
        Tensor weight = old.weight!;
        Embedding resized = nn.Embedding(rows, weight.shape[1], device: weight.device, dtype: weight.dtype);
        Fill(resized.weight!, weight, rows);
        resized.weight!.requires_grad = weight.requires_grad;
        return resized;
    }

    internal static Linear Resize(Linear old, int rows)
    {
        Tensor weight = old.weight!;
        if (old.bias is not null) throw new NotSupportedException("Resizing an output head with a bias is not supported yet.");
        Linear resized = nn.Linear(weight.shape[1], rows, hasBias: false, device: weight.device, dtype: weight.dtype);
        Fill(resized.weight!, weight, rows);
        resized.weight!.requires_grad = weight.requires_grad;
        return resized;
    }

    private static void Fill(Tensor target, Tensor source, int rows)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long kept = Math.Min(rows, source.shape[0]);
        target.narrow(0, 0, kept).copy_(source.narrow(0, 0, kept));
        if (rows > kept)
        {
            Tensor mean = source.to(ScalarType.Float64).mean(new long[] { 0 }).to(source.dtype);
            target.narrow(0, kept, rows - kept).copy_(mean.expand(rows - kept, source.shape[1]));
        }
    }
}
