using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Core.Tests.Models.HuggingFace;
using FineTuning.Core.Tests.Models.SafeTensors;
using FineTuning.Data.Templates;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Models.Gpt2;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Models.SafeTensors;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FineTuning.Testing.Fuzz;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FineTuning.Core.Tests.Fuzz;

/// <summary>
/// Seeded mutations of real model files through the public loaders (<see cref="FuzzRunner"/>): each input is accepted or
/// refused with the loader's documented exception. <c>FINETUNING_FUZZ_ITERATIONS</c> raises the counts for a long run.
/// </summary>
public sealed class ModelFileFuzzTests(ITestOutputHelper output)
{
    private static readonly string FixturesDir = Path.Combine(AppContext.BaseDirectory, "Models", "Tokenizers", "Fixtures");

    [Fact]
    public void SafeTensorsReader_MutatedFile_AcceptsOrThrowsSafeTensorsFormatException()
    {
        using TempDirectory folder = FuzzInputs.Folder();
        string seedPath = Path.Combine(folder.Path, "seed.safetensors");
        SafeTensorsTestData.WriteSample(seedPath);
        byte[] seed = File.ReadAllBytes(seedPath);
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("safetensors", 11, 300, typeof(SafeTensorsFormatException)),
            FuzzInputs.Bytes(seed, focus: 256),
            bytes =>
            {
                using var scope = torch.NewDisposeScope();
                using SafeTensorsReader reader = SafeTensorsReader.Open(folder.Write("m.safetensors", bytes));
                foreach (SafeTensorInfo info in reader.Tensors) reader.Load(info.Name);
            });
        Report(outcome);
    }

    [Fact]
    public void HfCheckpointLoad_MutatedConfigJson_AcceptsOrThrowsTypedException()
    {
        HfCase llama = HfCase.All().Single(c => c.Name == "llama-gqa-untied");
        using TempDirectory folder = FuzzInputs.Folder();
        using (nn.Module model = llama.Create()) llama.Write(folder.Path, model);
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("config.json (HfCheckpoint.Load)", 12, 150, typeof(ModelConfigException), typeof(ModelFileException), typeof(CheckpointWeightsException)),
            FuzzInputs.Json(llama.ConfigJson),
            bytes =>
            {
                folder.Write("config.json", bytes);
                using nn.Module loaded = HfCheckpoint.Load(folder.Path);
            });
        Report(outcome);
    }

    [Fact]
    public void ConfigFromJson_MutatedConfigs_AcceptOrThrowModelConfigException()
    {
        foreach (HfCase c in HfCase.All())
        {
            Func<string, object> parse = c.Name.StartsWith("gpt2", StringComparison.Ordinal) ? Gpt2Config.FromJson
                : c.Name.StartsWith("bert", StringComparison.Ordinal) ? json => BertConfig.FromJson(json)
                : LlamaConfig.FromJson;
            FuzzOutcome outcome = FuzzRunner.Run(
                new FuzzSettings($"config.json ({c.Name} FromJson)", 13, 100, typeof(ModelConfigException), typeof(FineTuningException)),
                FuzzInputs.Json(c.ConfigJson),
                bytes => parse(Encoding.UTF8.GetString(bytes)));
            Report(outcome);
        }
    }

    [Theory]
    [InlineData("bytelevel-bpe.tokenizer.json")]
    [InlineData("sentencepiece-bpe.tokenizer.json")]
    [InlineData("wordpiece.tokenizer.json")]
    public void HfTokenizerLoad_MutatedTokenizerJson_AcceptsOrThrowsModelFileException(string fixture)
    {
        string seed = File.ReadAllText(Path.Combine(FixturesDir, fixture));
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings($"tokenizer.json ({fixture})", 14, 150, typeof(ModelFileException)),
            FuzzInputs.Json(seed),
            bytes =>
            {
                HfTokenizer tokenizer = HfTokenizer.Load(folder.Write("tokenizer.json", bytes));
                // Asking for a BOS the file does not define is a caller error (InvalidOperationException), not a file problem.
                IReadOnlyList<int> ids = tokenizer.Encode("Hello world, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! 123", addBos: tokenizer.BosId >= 0);
                tokenizer.Decode(ids);
            });
        Report(outcome);
    }

    [Fact]
    public void TokenizerConfig_Mutated_AcceptsOrThrowsTypedException()
    {
        const string seed = """{"add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "chat_template": [{"name": "default", "template": "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"}]}""";
        string tokenizer = File.ReadAllText(Path.Combine(FixturesDir, "sentencepiece-bpe.tokenizer.json"));
        using TempDirectory folder = FuzzInputs.Folder();
        string tokenizerPath = folder.Write("tokenizer.json", Encoding.UTF8.GetBytes(tokenizer));
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("tokenizer_config.json", 15, 200, typeof(ModelFileException), typeof(ChatTemplateException)),
            FuzzInputs.Json(seed),
            bytes =>
            {
                string text = Encoding.UTF8.GetString(bytes);
                try
                {
                    ChatTemplates.FromTokenizerConfig(text);
                }
                catch (ChatTemplateException)
                {
                    // Refused as a template source; the tokenizer must still read (or refuse) the same file.
                }

                HfTokenizer tokenizer = HfTokenizer.Load(tokenizerPath, folder.Write("tokenizer_config.json", bytes));
                tokenizer.Encode("hi", addBos: tokenizer.BosId >= 0);
            });
        Report(outcome);
    }

    [SkippableFact]
    public void Llama2CCheckpointLoad_MutatedHeaderAndLength_AcceptsOrThrowsModelFileException()
    {
        string dir = ModelFiles.Stories260K();
        byte[] seed = File.ReadAllBytes(Path.Combine(dir, "stories260K.bin"));
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("llama2.c checkpoint", 16, 60, typeof(ModelFileException), typeof(ModelConfigException)) { AllocationPerInputByte = 16 },
            FuzzInputs.Bytes(seed, focus: 28),
            bytes =>
            {
                using LlamaForCausalLM model = Llama2CCheckpoint.Load(folder.Write("m.bin", bytes));
            });
        Report(outcome);
    }

    [SkippableFact]
    public void Llama2CTokenizerLoad_MutatedFile_AcceptsOrThrowsModelFileException()
    {
        string dir = ModelFiles.Stories260K();
        byte[] seed = File.ReadAllBytes(Path.Combine(dir, "tok512.bin"));
        using TempDirectory folder = FuzzInputs.Folder();
        FuzzOutcome outcome = FuzzRunner.Run(
            new FuzzSettings("llama2.c tokenizer", 17, 200, typeof(ModelFileException)),
            FuzzInputs.Bytes(seed, focus: 64),
            bytes =>
            {
                Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(folder.Write("tok.bin", bytes));
                tokenizer.Decode(tokenizer.Encode("Once upon a time, a little girl", addBos: true));
            });
        Report(outcome);
    }

    private void Report(FuzzOutcome outcome)
    {
        output.WriteLine(outcome.ToString());
        Assert.True(outcome.Total > 0);
    }
}
