/* simple.c — the smallest use of libadain_dcs: simple MODELS CONTENT STYLE OUT */
#include <stdio.h>

#include <adain_dcs.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL_DIR CONTENT STYLE OUTPUT\n", argv[0]);
        return 1;
    }
    adn_model *model = NULL;
    adn_context *ctx = NULL;
    adn_style *style = NULL;
    adn_image content = {0}, style_img = {0}, out = {0};
    int ok = adn_model_load(argv[1], NULL, &model) == ADN_OK &&
             adn_context_create(model, NULL, &ctx) == ADN_OK &&
             adn_image_read(argv[2], NULL, &content, NULL, NULL) == ADN_OK &&
             adn_image_read(argv[3], NULL, &style_img, NULL, NULL) == ADN_OK &&
             adn_style_create(model, &style_img, &style) == ADN_OK &&
             adn_stylize(ctx, &content, (const adn_style *const *)&style, 1, NULL, &out) == ADN_OK &&
             adn_image_write(argv[4], &out, NULL, NULL) == ADN_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", argv[0], adn_last_error());
    adn_image_free(&out);
    adn_image_free(&style_img);
    adn_image_free(&content);
    adn_style_free(style);   /* styles and contexts before their model */
    adn_context_free(ctx);
    adn_model_free(model);
    return ok ? 0 : 2;
}
