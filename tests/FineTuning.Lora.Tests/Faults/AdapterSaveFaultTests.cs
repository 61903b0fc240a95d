using System;
using System.IO;
using System.Linq;
using FineTuning.IO;
using FineTuning.Lora.Peft;
using FineTuning.Testing;
using Xunit;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests.Faults;

/// <summary><see cref="PeftAdapter.Save"/> replaces the adapter folder as a whole or not at all.</summary>
public sealed class AdapterSaveFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new("peft-save");

    public void Dispose() => _dir.Dispose();

    private static TinyBlock Adapted(ulong perturbSeed)
    {
        var model = new TinyBlock();
        new LoRAAdapter(new LoRAOptions { R = 2, Alpha = 4 }).Apply(model);
        AdapterContractTests.Perturb(model, perturbSeed);
        return model;
    }

    private static byte[][] Files(string folder) =>
        new[] { PeftAdapter.WeightsFileName, PeftAdapterConfig.FileName }.Select(f => File.ReadAllBytes(Path.Combine(folder, f))).ToArray();

    [Fact]
    public void Save_OverAnExistingAdapter_KeepsOtherFilesAndDropsAStaleQuantizationConfig()
    {
        string folder = Path.Combine(_dir.Path, "adapter");
        using (TinyBlock first = Adapted(1)) PeftAdapter.Save(first, folder);
        File.WriteAllText(Path.Combine(folder, "README.md"), "my notes");
        File.WriteAllText(Path.Combine(folder, "quantization_config.json"), "{}");

        using TinyBlock second = Adapted(2);
        PeftAdapter.Save(second, folder, baseModelNameOrPath: "second");

        Assert.Equal(new[] { "README.md", "adapter_config.json", "adapter_model.safetensors" },
            Directory.GetFiles(folder).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("my notes", File.ReadAllText(Path.Combine(folder, "README.md")));
        Assert.Contains("\"second\"", File.ReadAllText(Path.Combine(folder, PeftAdapterConfig.FileName)), StringComparison.Ordinal);
        Assert.Equal(new[] { "adapter" }, Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }

    [SkippableFact]
    public void Save_DiskFull_IsASaveExceptionAndThePreviousAdapterStaysWholeAndLoads()
    {
        using SmallDisk disk = SmallDisk.Mount(1 << 20);
        string folder = Path.Combine(disk.Path, "adapter");
        using (TinyBlock first = Adapted(1)) PeftAdapter.Save(first, folder, baseModelNameOrPath: "first");
        byte[][] saved = Files(folder);
        disk.FillLeaving(4096); // one page: the new weights file fits, the config does not

        using TinyBlock second = Adapted(2);
        var e = Assert.Throws<SaveException>(() => PeftAdapter.Save(second, folder, baseModelNameOrPath: "second"));

        Assert.Equal(folder, e.Folder);
        Assert.Contains("previous contents", e.Message, StringComparison.Ordinal);
        Assert.Equal(saved, Files(folder));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(disk.Path).Select(Path.GetFileName), n => n!.StartsWith('.')); // no temporary folder
        using var fresh = new TinyBlock();
        PeftAdapter.Load(fresh, folder);
        using var expected = Adapted(1);
        fresh.eval();
        expected.eval();
        using Tensor input = linspace(-1, 1, 40).reshape(5, 8);
        Assert.True(fresh.call(input).equal(expected.call(input)).all().item<bool>());
    }
}
