using System.IO;
using System.Linq;
using FineTuning.Core.Tests.Models.HuggingFace;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using TorchSharp;
using Xunit;

namespace FineTuning.Core.Tests.Models;

/// <summary>Every loader hands back its model in evaluation mode (dropout off), the model and all its sub-modules.</summary>
public sealed class LoaderModeTests
{
    public static TheoryData<string> HfCases() => new(HfCase.All().Select(c => c.Name));

    internal static void AssertEvalEverywhere(torch.nn.Module model)
    {
        Assert.False(model.training, "the model itself is in training mode");
        string[] training = model.named_modules().Where(m => m.module.training).Select(m => m.name).ToArray();
        Assert.True(training.Length == 0, "in training mode: " + string.Join(", ", training));
    }

    [Theory]
    [MemberData(nameof(HfCases))]
    public void HfCheckpointLoad_AnyArchitecture_ReturnsTheModelInEvalMode(string name)
    {
        HfCase c = HfCase.All().Single(x => x.Name == name);
        using var folder = new TempDirectory("ft-hf-");
        using (torch.nn.Module original = c.Create())
        {
            original.train(); // whatever mode it was written from
            c.Write(folder.Path, original);
        }
        using torch.nn.Module model = HfCheckpoint.Load(folder.Path);
        AssertEvalEverywhere(model);
    }

    [SkippableFact]
    public void Llama2CCheckpointLoad_Stories260K_ReturnsTheModelInEvalMode()
    {
        string dir = ModelFiles.Stories260K();
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        AssertEvalEverywhere(model);
    }
}
