using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Lora;

/// <summary>
/// A rank-q SVD by randomized subspace iteration (Halko, Martinsson and Tropp 2011, algorithms 4.4 and 5.1), as
/// <c>torch.svd_lowrank</c> computes it; the Gaussian test matrix is drawn from the caller's generator.
/// </summary>
internal static class RandomizedSvd
{
    /// <summary>U [m, q], S [q], V [n, q] with <c>a ≈ U diag(S) V^T</c>.</summary>
    public static (Tensor U, Tensor S, Tensor V) LowRank(Tensor a, long q, int niter, Generator generator)
    {
        using var scope = NewDisposeScope();
        Tensor test = randn(new[] { a.shape[1], q }, dtype: a.dtype, generator: generator);
        Tensor basis = linalg.qr(a.matmul(test)).Q;
        for (int i = 0; i < niter; i++)
        {
            basis = linalg.qr(a.t().matmul(basis)).Q;
            basis = linalg.qr(a.matmul(basis)).Q;
        }
        (Tensor u, Tensor s, Tensor vh) = linalg.svd(basis.t().matmul(a), fullMatrices: false);
        return (basis.matmul(u).MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope(), vh.t().MoveToOuterDisposeScope());
    }
}
