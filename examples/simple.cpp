// simple.cpp — libadain_dcs from C++: small RAII owners over the C API, errors as exceptions.
//   simple_cpp MODELS CONTENT STYLE OUT [ALPHA]
#include <adain_dcs.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

namespace adn {

// Turns a failed status into an exception carrying the library's message.
inline void check(adn_status status)
{
    if (status != ADN_OK)
        throw std::runtime_error(std::string(adn_status_str(status)) + ": " + adn_last_error());
}

// Owns a library-allocated image; movable, not copyable.
struct Image {
    adn_image img{};
    Image() = default;
    Image(const Image &) = delete;
    Image &operator=(const Image &) = delete;
    Image(Image &&other) noexcept : img(other.img) { other.img = adn_image{}; }
    ~Image() { adn_image_free(&img); }

    static Image read(const std::string &path)
    {
        Image image;
        check(adn_image_read(path.c_str(), nullptr, &image.img, nullptr, nullptr));
        return image;
    }
    void write(const std::string &path) const { check(adn_image_write(path.c_str(), &img, nullptr, nullptr)); }
};

using Model = std::unique_ptr<adn_model, decltype(&adn_model_free)>;
using Context = std::unique_ptr<adn_context, decltype(&adn_context_free)>;
using Style = std::unique_ptr<adn_style, decltype(&adn_style_free)>;

inline Model load_model(const std::string &dir)
{
    adn_model *model = nullptr;
    check(adn_model_load(dir.c_str(), nullptr, &model));
    return Model(model, &adn_model_free);
}

// A context holds the per-call state (buffers, depth range, last maps); one per thread.
inline Context make_context(const Model &model)
{
    adn_context *ctx = nullptr;
    check(adn_context_create(model.get(), nullptr, &ctx));
    return Context(ctx, &adn_context_free);
}

inline Style encode_style(const Model &model, const Image &image)
{
    adn_style *style = nullptr;
    check(adn_style_create(model.get(), &image.img, &style));
    return Style(style, &adn_style_free);
}

inline Image stylize(const Context &ctx, const Image &content, const Style &style, float alpha)
{
    adn_stylize_params params = adn_stylize_default_params();
    params.alpha = alpha;
    const adn_style *styles[] = {style.get()};
    Image out;
    check(adn_stylize(ctx.get(), &content.img, styles, 1, &params, &out.img));
    return out;
}

} // namespace adn

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        std::cerr << "usage: " << argv[0] << " MODEL_DIR CONTENT STYLE OUTPUT [ALPHA]\n";
        return 1;
    }
    try {
        adn::Model model = adn::load_model(argv[1]);  // declared first, so destroyed last
        adn::Context ctx = adn::make_context(model);
        adn::Style style = adn::encode_style(model, adn::Image::read(argv[3]));
        adn::Image content = adn::Image::read(argv[2]);
        float alpha = 1.0f;
        if (argc == 6) {
            char *end = nullptr;
            alpha = std::strtof(argv[5], &end);
            if (end == argv[5] || *end != '\0') {
                std::cerr << argv[0] << ": ALPHA '" << argv[5] << "' is not a number\n";
                return 1;
            }
        }
        adn::stylize(ctx, content, style, alpha).write(argv[4]);
    } catch (const std::exception &e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 2;
    }
    return 0;
}
