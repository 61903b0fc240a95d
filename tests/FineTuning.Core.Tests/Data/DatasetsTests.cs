using System.Linq;
using FineTuning.Data;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Data;

public sealed class DatasetsTests
{
    [Fact]
    public void Split_SameSeed_SameSplit_OtherSeed_Differs()
    {
        int[] items = Enumerable.Range(0, 100).ToArray();
        DatasetSplit<int> a = Datasets.Split(items, 0.1, seed: 7);
        DatasetSplit<int> b = Datasets.Split(items, 0.1, seed: 7);
        DatasetSplit<int> c = Datasets.Split(items, 0.1, seed: 8);
        Assert.Equal(a.Validation, b.Validation);
        Assert.NotEqual(a.Validation, c.Validation);
        Assert.Equal(10, a.Validation.Count);
        Assert.Equal(a.Validation.Order(), a.Validation); // original order kept
    }

    [Property]
    public bool Split_IsAPartition(int n, int seed)
    {
        int[] items = Enumerable.Range(0, System.Math.Abs(n % 200)).ToArray();
        DatasetSplit<int> s = Datasets.Split(items, 0.25, seed);
        return s.Train.Concat(s.Validation).Order().SequenceEqual(items) && s.Validation.Count == (int)System.Math.Round(0.25 * items.Length, System.MidpointRounding.AwayFromZero);
    }

    [Fact]
    public void Mix_TenPercentReplay_KeepsAllPrimaryAndIsDeterministic()
    {
        string[] task = Enumerable.Range(0, 90).Select(i => $"t{i}").ToArray();
        string[] general = Enumerable.Range(0, 5).Select(i => $"g{i}").ToArray();
        var mixed = Datasets.Mix(task, general, 0.1, seed: 3);
        Assert.Equal(100, mixed.Count);
        Assert.Equal(10, mixed.Count(m => m.StartsWith('g')));
        Assert.Equal(task.Order(), mixed.Where(m => m.StartsWith('t')).Order());
        Assert.All(general, g => Assert.Equal(2, mixed.Count(m => m == g))); // cycles evenly through the pool
        Assert.Equal(mixed, Datasets.Mix(task, general, 0.1, seed: 3));
        Assert.NotEqual(mixed, Datasets.Mix(task, general, 0.1, seed: 4));
        Assert.Throws<System.ArgumentException>(() => Datasets.Mix(task, System.Array.Empty<string>(), 0.1, 1));
    }
}
