using System;
using System.IO;
using System.Text;
using FineTuning.Lora.Peft;
using FineTuning.Models.SafeTensors;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Lora.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a real adapter folder (adapter_config.json and adapter_model.safetensors written by
/// <see cref="PeftAdapter.Save"/>) loaded onto a fresh model, plus the issue's reproducers.
/// </summary>
public sealed class PeftAdapterFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory seedDir = new("peft-fuzz");

    public void Dispose() => seedDir.Dispose();

    [Fact]
    public void PeftAdapterLoad_MutatedConfig_AcceptsOrThrowsAdapterFormatException()
    {
        SaveSeed();
        string seed = File.ReadAllText(Path.Combine(seedDir.Path, PeftAdapterConfig.FileName));
        using TempDirectory folder = FuzzInputs.Folder();
        File.Copy(Path.Combine(seedDir.Path, "adapter_model.safetensors"), Path.Combine(folder.Path, "adapter_model.safetensors"));
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("adapter_config.json", 31, 250, typeof(AdapterFormatException)),
            FuzzInputs.Json(seed),
            bytes =>
            {
                folder.Write(PeftAdapterConfig.FileName, bytes);
                LoadOntoFreshModel(folder.Path);
            });
        output.WriteLine(outcome.ToString());
    }

    [Fact]
    public void PeftAdapterLoad_MutatedWeights_AcceptsOrThrowsTypedException()
    {
        SaveSeed();
        byte[] seed = File.ReadAllBytes(Path.Combine(seedDir.Path, "adapter_model.safetensors"));
        using TempDirectory folder = FuzzInputs.Folder();
        File.Copy(Path.Combine(seedDir.Path, PeftAdapterConfig.FileName), Path.Combine(folder.Path, PeftAdapterConfig.FileName));
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("adapter_model.safetensors", 32, 250, typeof(AdapterFormatException), typeof(SafeTensorsFormatException)),
            FuzzInputs.Bytes(seed, focus: 512),
            bytes =>
            {
                folder.Write("adapter_model.safetensors", bytes);
                LoadOntoFreshModel(folder.Path);
            });
        output.WriteLine(outcome.ToString());
    }

    [Theory]
    [InlineData("\"r\": 4, \"lora_alpha\": 1e308", "lora_alpha")]
    [InlineData("\"r\": 4, \"lora_alpha\": 1e400", "lora_alpha")]
    [InlineData("\"r\": 4, \"target_modules\": [\"q_proj\", 1]", "target_modules[1]")]
    [InlineData("\"r\": 4, \"r\": 4", "\"r\" appears more than once")]
    [InlineData("\"r\": 4, \"base_model_name_or_path\": \"\\ud800\"", "lone surrogate")]
    [InlineData("\"r\": 4294967297", "\"r\"")]
    public void PeftAdapterConfigRead_IssueReproducers_ThrowAdapterFormatExceptionNamingTheField(string fields, string expected)
    {
        string path = Path.Combine(seedDir.Path, PeftAdapterConfig.FileName);
        File.WriteAllText(path, "{\"peft_type\": \"LORA\", " + fields + "}");

        var e = Assert.Throws<AdapterFormatException>(() => PeftAdapterConfig.Read(path));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoRAOptionsValidate_AlphaAboveFloat32SafeRange_IsRefused()
    {
        Assert.NotEmpty(new LoRAOptions { Alpha = 1e308 }.Validate());
        Assert.Empty(new LoRAOptions { Alpha = 32 }.Validate());
    }

    private void SaveSeed()
    {
        using var scope = NewDisposeScope();
        using var trained = new TinyBlock();
        var options = new LoRAOptions { R = 4, Alpha = 8 };
        options.ModulesToSave.Add("classifier");
        new LoRAAdapter(options).Apply(trained);
        AdapterContractTests.Perturb(trained, 3);
        PeftAdapter.Save(trained, seedDir.Path);
    }

    private static void LoadOntoFreshModel(string directory)
    {
        using var scope = NewDisposeScope();
        using var fresh = new TinyBlock();
        PeftAdapter.Load(fresh, directory);
        fresh.eval();
        using (no_grad()) fresh.call(linspace(-1, 1, 16).reshape(2, 8));
    }
}
