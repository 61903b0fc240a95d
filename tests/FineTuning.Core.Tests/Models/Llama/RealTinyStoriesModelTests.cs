using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using FineTuning.Generation;
using FineTuning.Core.Tests.Models.Tokenizers;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;
using Xunit.Abstractions;

namespace FineTuning.Core.Tests.Models.Llama;

/// <summary>Real pretrained weights: Karpathy's tinyllamas stories260K in llama2.c format.</summary>
public sealed class Stories260KTests(ITestOutputHelper output)
{
    // llama2.c's published test expectation (test_all.py), greedy from BOS for 200 steps;
    // the line breaks are newline tokens the model emits.
    private const string Expected =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
        + "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\"\n"
        + "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
        + "Lily didn't want to help her mom, so she";

    [SkippableFact]
    public void GreedyFromBos_200Steps_ReproducesPublishedText()
    {
        string dir = ModelFiles.Stories260K();
        var clock = Stopwatch.StartNew();
        using LlamaForCausalLM model = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin"));
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), model.Config.VocabSize);
        var generator = new TextGenerator(model, tokenizer);

        string text = generator.Generate(string.Empty, new GenerationOptions { MaxNewTokens = 200, StopTokenIds = new[] { tokenizer.BosId } });

        output.WriteLine($"load + 200 greedy tokens: {clock.ElapsedMilliseconds} ms");
        Assert.Equal(Expected, text);
    }

    [SkippableFact]
    public void SavedAsHfFolderAndReloaded_GreedyFromBos_ReproducesPublishedText()
    {
        string dir = ModelFiles.Stories260K();
        string folder = Path.Combine(Path.GetTempPath(), "ft-stories260K-hf-" + System.Guid.NewGuid().ToString("N"));
        try
        {
            using (LlamaForCausalLM original = Llama2CCheckpoint.Load(Path.Combine(dir, "stories260K.bin")))
            {
                FineTuning.Models.HuggingFace.HfCheckpoint.Save(original, folder);
            }

            using LlamaForCausalLM model = FineTuning.Models.HuggingFace.HfCheckpoint.Load<LlamaForCausalLM>(folder);
            Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"), model.Config.VocabSize);
            string text = new TextGenerator(model, tokenizer).Generate(string.Empty, new GenerationOptions { MaxNewTokens = 200, StopTokenIds = new[] { tokenizer.BosId } });

            Assert.True(File.Exists(Path.Combine(folder, "config.json")));
            Assert.Equal(Expected, text);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public void Encode_OnceUponATime_MatchesLlama2C()
    {
        string dir = ModelFiles.Stories260K();
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(Path.Combine(dir, "tok512.bin"));

        Assert.Equal(512, tokenizer.VocabSize);
        Assert.Equal(new[] { 1, 403, 407, 261, 378 }, tokenizer.Encode("Once upon a time", addBos: true));
        Assert.Equal("Once upon a time", tokenizer.Decode(tokenizer.Encode("Once upon a time", addBos: true)));
    }

    [SkippableFact]
    public void Encode_PublishedStory_MatchesRunCTranscriptionAndRoundTrips()
    {
        string path = Path.Combine(ModelFiles.Stories260K(), "tok512.bin");
        Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(path);
        const string text = Expected + " Ünïcödé → 日本 🙂 <0x41>";

        IReadOnlyList<int> ids = tokenizer.Encode(text, addBos: true);

        Assert.Equal(new NaiveLlama2CEncoder(path).Encode(text, bos: true), ids);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [SkippableFact]
    public void Config_FromHeader_IsStories260K()
    {
        string dir = ModelFiles.Stories260K();
        LlamaConfig config = Llama2CCheckpoint.ReadConfig(Path.Combine(dir, "stories260K.bin"));

        Assert.Equal(
            new LlamaConfig
            {
                HiddenSize = 64, IntermediateSize = 172, NumHiddenLayers = 5, NumAttentionHeads = 8, NumKeyValueHeads = 4,
                VocabSize = 512, MaxPositionEmbeddings = 512, RmsNormEps = 1e-5, RopeTheta = 10000, TieWordEmbeddings = true,
            },
            config);
    }
}
