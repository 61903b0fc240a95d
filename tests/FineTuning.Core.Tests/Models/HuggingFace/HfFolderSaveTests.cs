using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using FineTuning.Core.Tests.Models.Llama;
using FineTuning.Core.Tests.Models.Tokenizers;
using FineTuning.Generation;
using FineTuning.Models.HuggingFace;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using Xunit;

namespace FineTuning.Core.Tests.Models.HuggingFace;

/// <summary>The complete HF folder: tokenizer files, generation config, atomic replacement.</summary>
public sealed class HfFolderSaveTests
{
    private const string ChatMl = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

    private static string NewPath() => Path.Combine(Path.GetTempPath(), "ft-hfsave-" + Guid.NewGuid().ToString("N"), "model");

    private static JsonElement ReadJson(string folder, string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, file)));
        return document.RootElement.Clone();
    }

    private static void DeleteParent(string folder)
    {
        string parent = Path.GetDirectoryName(folder)!;
        if (Directory.Exists(parent)) Directory.Delete(parent, recursive: true);
    }

    [SkippableFact]
    public void Save_Stories260KWithLlama2CTokenizer_ReloadedFolderGeneratesIdenticalGreedyTokens()
    {
        string models = ModelFiles.Stories260K();
        string folder = NewPath();
        try
        {
            using LlamaForCausalLM original = Llama2CCheckpoint.Load(Path.Combine(models, "stories260K.bin"));
            Llama2CTokenizer tok512 = Llama2CTokenizer.Load(Path.Combine(models, "tok512.bin"), original.Config.VocabSize);
            HfCheckpoint.Save(original, folder, new HfSaveOptions { Tokenizer = tok512, ChatTemplate = ChatMl });

            foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" })
                Assert.True(File.Exists(Path.Combine(folder, file)), file);
            JsonElement config = ReadJson(folder, "tokenizer_config.json");
            Assert.Equal(ChatMl, config.GetProperty("chat_template").GetString());
            Assert.Equal("<s>", config.GetProperty("bos_token").GetString());
            Assert.Equal("</s>", config.GetProperty("eos_token").GetString());
            Assert.Equal("<unk>", config.GetProperty("unk_token").GetString());
            JsonElement generation = ReadJson(folder, "generation_config.json");
            Assert.Equal(1, generation.GetProperty("bos_token_id").GetInt32());
            Assert.Equal(2, generation.GetProperty("eos_token_id").GetInt32());

            using LlamaForCausalLM reloaded = HfCheckpoint.Load<LlamaForCausalLM>(folder);
            HfTokenizer hf = HfTokenizer.Load(folder);
            var options = new GenerationOptions { MaxNewTokens = 60 };
            foreach (string prompt in new[] { "Once upon a time", "Lily and Tom went to the", "The cat said, \"" })
            {
                IReadOnlyList<int> ids = tok512.Encode(prompt, addBos: true);
                Assert.Equal(ids, hf.Encode(prompt, addBos: hf.AddBosByDefault));
                IReadOnlyList<int> expected = new TextGenerator(original, tok512).GenerateIds(new[] { ids }, options)[0];
                IReadOnlyList<int> actual = new TextGenerator(reloaded, hf).GenerateIds(new[] { ids }, options)[0];
                Assert.Equal(expected, actual);
                Assert.Equal(new TextGenerator(original, tok512).Generate(prompt, options), new TextGenerator(reloaded, hf).Generate(prompt, options));
            }
        }
        finally
        {
            DeleteParent(folder);
        }
    }

    [Fact]
    public void Save_WithHfTokenizer_WritesItsFilesBackAndAddsTheChatTemplate()
    {
        string folder = NewPath();
        try
        {
            string json = TokenizerFixtures.Text(TokenizerFixtures.SentencePiece);
            HfTokenizer tokenizer = HfTokenizer.Parse(json, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": true}");
            using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());

            HfCheckpoint.Save(model, folder, new HfSaveOptions { Tokenizer = tokenizer, ChatTemplate = ChatMl });

            Assert.Equal(json, File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
            JsonElement config = ReadJson(folder, "tokenizer_config.json");
            Assert.Equal(ChatMl, config.GetProperty("chat_template").GetString());
            Assert.True(config.GetProperty("add_bos_token").GetBoolean());
            HfTokenizer reloaded = HfTokenizer.Load(folder);
            Assert.Equal(tokenizer.Encode("hello world", addBos: true), reloaded.Encode("hello world", addBos: true));
            Assert.Equal(tokenizer.EosId, ReadJson(folder, "generation_config.json").GetProperty("eos_token_id").GetInt32());
        }
        finally
        {
            DeleteParent(folder);
        }
    }

    [Fact]
    public void Save_NonEmptyFolder_RefusedAndLeftAlone_OverwriteReplacesItWhole()
    {
        string folder = NewPath();
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "keep");
            using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());

            var e = Assert.Throws<IOException>(() => HfCheckpoint.Save(model, folder));
            Assert.Contains("Overwrite", e.Message, StringComparison.Ordinal);
            Assert.Equal(new[] { "notes.txt" }, Directory.GetFiles(folder).Select(Path.GetFileName));

            HfCheckpoint.Save(model, folder, new HfSaveOptions { Overwrite = true });
            Assert.False(File.Exists(Path.Combine(folder, "notes.txt")));
            Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
            Assert.Equal(new[] { "model" }, Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Select(Path.GetFileName));
        }
        finally
        {
            DeleteParent(folder);
        }
    }

    [Fact]
    public void Save_FailureWhileWriting_LeavesNoFolderAndNoTemporary()
    {
        string folder = NewPath();
        string vocabulary = Path.Combine(Path.GetTempPath(), $"ft-dup-{Guid.NewGuid():N}.bin");
        try
        {
            // "a b" and "a▁b" are one token once spaces become ▁: the tokenizer cannot be written, after the weights were.
            WriteLlama2CVocabulary(vocabulary, "a b", "a\u2581b");
            Llama2CTokenizer tokenizer = Llama2CTokenizer.Load(vocabulary);
            using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());

            Assert.Throws<NotSupportedException>(() => HfCheckpoint.Save(model, folder, new HfSaveOptions { Tokenizer = tokenizer }));

            Assert.False(Directory.Exists(folder));
            Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!));
        }
        finally
        {
            File.Delete(vocabulary);
            DeleteParent(folder);
        }
    }

    [Fact]
    public void Save_TokenizerWithoutJsonForm_NotSupportedBeforeWriting()
    {
        string folder = NewPath();
        using LlamaForCausalLM model = TinyLlama.Create(TinyLlama.Config());

        var e = Assert.Throws<NotSupportedException>(() => HfCheckpoint.Save(model, folder, new HfSaveOptions { Tokenizer = new CharTokenizer() }));

        Assert.Contains("not supported yet", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(folder)));
    }

    private static void WriteLlama2CVocabulary(string path, params string[] pieces)
    {
        var entries = new List<byte[]> { Encoding.UTF8.GetBytes("<unk>"), Encoding.UTF8.GetBytes("\n<s>\n"), Encoding.UTF8.GetBytes("\n</s>\n") };
        entries.AddRange(Enumerable.Range(0, 256).Select(b => Encoding.ASCII.GetBytes($"<0x{b:X2}>")));
        entries.AddRange(pieces.Select(Encoding.UTF8.GetBytes));
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(entries.Max(e => e.Length));
        for (int i = 0; i < entries.Count; i++)
        {
            writer.Write(-(float)i);
            writer.Write(entries[i].Length);
            writer.Write(entries[i]);
        }
    }
}
