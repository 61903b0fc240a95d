using System.IO;
using FineTuning.Adapters;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Core.Tests.Models;

/// <summary>Loaded models know where they came from and which PEFT task they serve (recorded by saved adapters).</summary>
public sealed class PretrainedModelTests : System.IDisposable
{
    private readonly TempDirectory _dir = new("pretrained");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void HfCheckpointLoad_SetsNameOrPathToTheFolder()
    {
        string folder = Path.Combine(_dir.Path, "llama");
        using (LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config(), seed: 3)) HfCheckpoint.Save(model, folder);
        using TorchSharp.torch.nn.Module loaded = HfCheckpoint.Load(folder);
        IPretrainedModel pretrained = Assert.IsAssignableFrom<IPretrainedModel>(loaded);
        Assert.Equal(folder, pretrained.NameOrPath);
        Assert.Equal(PeftTaskTypes.CausalLM, pretrained.TaskType);
    }

    [Fact]
    public void Llama2CCheckpointLoad_SetsNameOrPathToTheFile()
    {
        string path = Path.Combine(_dir.Path, "tiny.bin");
        new Llama2CReference(seed: 1, shared: true).Write(path);
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(path);
        Assert.Equal(path, model.NameOrPath);
    }

    [SkippableFact]
    public void Stories260K_RecordsItsFile()
    {
        string path = Path.Combine(ModelFiles.Stories260K(), "stories260K.bin");
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(path);
        Assert.Equal(path, model.NameOrPath);
        Assert.Equal("CAUSAL_LM", model.TaskType);
    }

    [Fact]
    public void TaskType_FollowsTheModelKind_AndNameStartsUnknown()
    {
        var bert = new BertConfig { VocabSize = 16, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16, MaxPositionEmbeddings = 16 };
        using var encoder = new BertModel(bert);
        using var classifier = new BertForSequenceClassification(bert, numLabels: 2);
        using var gpt2 = new Gpt2LMHeadModel(new Gpt2Config { VocabSize = 16, NPositions = 16, NEmbd = 8, NLayer = 1, NHead = 2 });
        Assert.Equal("FEATURE_EXTRACTION", encoder.TaskType);
        Assert.Equal("SEQ_CLS", classifier.TaskType);
        Assert.Equal("CAUSAL_LM", gpt2.TaskType);
        Assert.Null(encoder.NameOrPath);
        Assert.Null(gpt2.NameOrPath);
    }
}
